-- Atomically takes one action from every budget scope, or from none.
-- KEYS: one sorted set per scope (members = action ids, scores = ms timestamps).
-- ARGV[1] = action id, ARGV[2] = now (ms), then per scope: limit, window (ms).
-- Returns {1, 'taken'}, {1, 'already'} when this action id already holds a token (a retried
-- job must not spend twice), or {0, index-of-exhausted-scope, retry-after-ms}.
local id = ARGV[1]
local now = tonumber(ARGV[2])

for i, key in ipairs(KEYS) do
  if redis.call('ZSCORE', key, id) then
    return {1, 'already'}
  end
end

for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[1 + i * 2])
  local window = tonumber(ARGV[2 + i * 2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local retry = window
    if oldest[2] then retry = tonumber(oldest[2]) + window - now end
    return {0, i, retry}
  end
end

for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[2 + i * 2])
  redis.call('ZADD', key, now, id)
  redis.call('PEXPIRE', key, window)
end
return {1, 'taken'}
