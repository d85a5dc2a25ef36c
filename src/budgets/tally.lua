-- Records one reporter's targets of a policy and returns the reports of every reporter heard
-- from within the staleness bound: a reporter that stopped reporting (a dead agent) drops out.
-- Times are the Redis server's, so the reporters' clocks need not agree. How the reports add up
-- (each target once) is not decided here but by the caller (storm.ts, `sumReports`).
-- KEYS[1] = hash of reporter -> "<reportedAtMs>\n<report>".
-- ARGV[1] = reporter, ARGV[2] = its report (one line per target), ARGV[3] = stale after (ms).
-- An empty report (no targets) removes the reporter. Returns the live reports as kept (each
-- still behind its stamp line), this one's too.
local key = KEYS[1]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local stale = tonumber(ARGV[3])

if ARGV[2] ~= '' then
  redis.call('HSET', key, ARGV[1], now .. '\n' .. ARGV[2])
else
  redis.call('HDEL', key, ARGV[1])
end

local live = {}
local all = redis.call('HGETALL', key)
for i = 1, #all, 2 do
  -- Only the stamp is read here; the report goes back as it is, stamp line and all.
  local value = all[i + 1]
  local newline = string.find(value, '\n', 1, true)
  local at = newline and tonumber(string.sub(value, 1, newline - 1))
  if at == nil or now - at > stale then
    redis.call('HDEL', key, all[i])
  else
    live[#live + 1] = value
  end
end
if #live > 0 then redis.call('PEXPIRE', key, stale) end
return live
