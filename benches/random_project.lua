-- wrk script: GET /simple/bench-proj-NNNN/ for a random project of 1,000.
-- The Accept header comes from the PICKET_ACCEPT environment variable (empty: none).
local accept = os.getenv("PICKET_ACCEPT") or ""
math.randomseed(42)
request = function()
  local path = string.format("/simple/bench-proj-%04d/", math.random(0, 999))
  if accept ~= "" then
    return wrk.format("GET", path, { ["Accept"] = accept })
  end
  return wrk.format("GET", path)
end
