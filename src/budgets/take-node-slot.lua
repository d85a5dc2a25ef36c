-- Atomically reserves the right to disrupt (cordon and drain) one node.
-- KEYS[1] = hash of nodes kube-remedy is disrupting now (node -> action id).
-- ARGV[1] = node, ARGV[2] = action id, ARGV[3] = healthy nodes now (from the watch),
-- ARGV[4] = minHealthyNodes, ARGV[5] = nodes allowed at once.
-- Returns {1, 'taken'|'already'} or {0, reason}.
local key = KEYS[1]
local node = ARGV[1]
local id = ARGV[2]
local healthy = tonumber(ARGV[3])
local minHealthy = tonumber(ARGV[4])
local maxAtOnce = tonumber(ARGV[5])

local holder = redis.call('HGET', key, node)
if holder == id then return {1, 'already'} end
if holder then return {0, 'node-busy'} end
if redis.call('HLEN', key) >= maxAtOnce then return {0, 'another-node-draining'} end
-- The node being disrupted stops counting as healthy; refuse if that breaks the floor.
if healthy - 1 < minHealthy then return {0, 'min-healthy-nodes'} end
redis.call('HSET', key, node, id)
return {1, 'taken'}
