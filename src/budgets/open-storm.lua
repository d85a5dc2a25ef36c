-- Opens a policy's storm once for everyone: the first to see it names it by its start (SET NX),
-- and everyone else learns that name, so all of them escalate the same storm under the same job
-- id. Each sighting keeps the storm for `quiet` ms more; a storm that ends and comes back within
-- that time is the same storm.
-- KEYS[1] = the storm's key. ARGV[1] = the start of a storm opened now (ms), ARGV[2] = quiet (ms).
-- Returns {1, startedAt} for a storm opened by this call, {0, startedAt} for one already open.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, ARGV[1]}
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {0, redis.call('GET', KEYS[1])}
