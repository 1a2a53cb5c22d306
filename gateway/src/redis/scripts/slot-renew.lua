-- slot-renew: renews leases (or takes one whatever the count: a slot held
-- already). Each is re-added even when it lapsed (Redis was away longer than
-- the TTL): the job still runs there, so the slot is taken.
--
-- KEYS[i]    the slots set of lease i's worker, <prefix>:slots:<worker address>
--            (as many keys as leases; several leases may share a worker)
-- ARGV[1]    the TTL (ms), then ARGV[i + 1] lease i's id.
-- Returns how many leases it renewed.
local ttl = tonumber(ARGV[1])

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #KEYS do redis.call('ZADD', KEYS[i], now + ttl, ARGV[i + 1]) end
return #KEYS
