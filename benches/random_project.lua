-- wrk script: GET PREFIX/bench-proj-NNNN/ for a random project of 1,000.
-- PICKET_PREFIX is the simple index's path (default /simple; devpi: /USER/INDEX/+simple);
-- the Accept header comes from PICKET_ACCEPT (empty: none).
local accept = os.getenv("PICKET_ACCEPT") or ""
local prefix = os.getenv("PICKET_PREFIX") or "/simple"
math.randomseed(42)
request = function()
  local path = string.format("%s/bench-proj-%04d/", prefix, math.random(0, 999))
  if accept ~= "" then
    return wrk.format("GET", path, { ["Accept"] = accept })
  end
  return wrk.format("GET", path)
end
