-- wrk script: GET PREFIX/bench-proj-NNNN/ for a random project of 1,000.
-- PICKET_PREFIX is the simple index's path (default /simple; devpi: /USER/INDEX/+simple);
-- the Accept header comes from PICKET_ACCEPT (empty: none).
-- PICKET_DELAY_MS, when set, makes each connection wait that long between requests: a paced
-- load below every server's capacity, where tail latencies compare at the same offered rate.
local accept = os.getenv("PICKET_ACCEPT") or ""
local pace = tonumber(os.getenv("PICKET_DELAY_MS") or "")
if pace then
  delay = function()
    return pace
  end
end
local prefix = os.getenv("PICKET_PREFIX") or "/simple"
math.randomseed(42)
request = function()
  local path = string.format("%s/bench-proj-%04d/", prefix, math.random(0, 999))
  if accept ~= "" then
    return wrk.format("GET", path, { ["Accept"] = accept })
  end
  return wrk.format("GET", path)
end
