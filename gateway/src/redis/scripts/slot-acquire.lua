-- slot-acquire: leases one of a worker's slots if one is free. A lease is a
-- member of the worker's sorted set scored by its expiry on Redis's own clock
-- (so gateways' clocks do not matter); lapsed leases are dropped first.
--
-- KEYS[1] slots  <prefix>:slots:<worker address>
-- ARGV[1] the worker's slots, ARGV[2] the lease's TTL (ms), ARGV[3] lease id.
-- Returns 1 when leased, 0 when every slot is leased (by any gateway).
local slots = KEYS[1]
local capacity, ttl, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
if redis.call('ZCARD', slots) >= capacity then return 0 end
redis.call('ZADD', slots, now + ttl, lease)
return 1
