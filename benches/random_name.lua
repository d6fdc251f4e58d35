-- wrk script: GET /simple/NAME/ for a random name of the file PICKET_NAMES (one a line).
local names = {}
for line in io.lines(os.getenv("PICKET_NAMES")) do
  names[#names + 1] = line
end
math.randomseed(42)
request = function()
  return wrk.format("GET", "/simple/" .. names[math.random(1, #names)] .. "/")
end
