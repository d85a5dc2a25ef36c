-- Records one reporter's count of a policy's targets and returns the sum over every reporter
-- heard from within the staleness bound: a reporter that stopped reporting (a dead agent) drops
-- out. Times are the Redis server's, so the reporters' clocks need not agree.
-- KEYS[1] = hash of reporter -> "targets unhealthy reportedAtMs".
-- ARGV[1] = reporter, ARGV[2] = targets, ARGV[3] = unhealthy, ARGV[4] = stale after (ms).
-- A reporter with no targets is removed. Returns {targets, unhealthy, reporters}.
local key = KEYS[1]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local stale = tonumber(ARGV[4])

if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', key, ARGV[1], ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. now)
else
  redis.call('HDEL', key, ARGV[1])
end

local targets, unhealthy, reporters = 0, 0, 0
local all = redis.call('HGETALL', key)
for i = 1, #all, 2 do
  local t, u, at = string.match(all[i + 1], '^(%d+) (%d+) (%d+)$')
  if at == nil or now - tonumber(at) > stale then
    redis.call('HDEL', key, all[i])
  else
    targets = targets + tonumber(t)
    unhealthy = unhealthy + tonumber(u)
    reporters = reporters + 1
  end
end
if reporters > 0 then redis.call('PEXPIRE', key, stale) end
return {targets, unhealthy, reporters}
