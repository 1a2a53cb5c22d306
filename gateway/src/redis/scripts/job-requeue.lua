-- job-requeue: puts a running job back in line, from running only. Its score
-- is still its creation number n, so it is back where it was in line.
--
-- KEYS[1] job            <prefix>:job:<id>
-- KEYS[2] running        <prefix>:status:running
-- KEYS[3] queued         <prefix>:status:queued
-- KEYS[4] owner_running  <prefix>:owner:<o>:running
-- KEYS[5] owner_queued   <prefix>:owner:<o>:queued
-- ARGV[1] id, ARGV[2] owner token <o>, read by the caller from the job's hash:
-- 'stale-owner' (and nothing changed) when the job's owner is another one now,
-- as in job-running.lua. Otherwise 1 when it was requeued, 0 when not.
local job, running, queued, owner_running, owner_queued = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, o = ARGV[1], ARGV[2]

local s = redis.call('HMGET', job, 'status', 'n', 'owner')
local status, n, owner = s[1], s[2], s[3]
if status ~= 'running' then return 0 end
if owner ~= o then return 'stale-owner' end
redis.call('ZREM', running, id)
redis.call('ZADD', queued, n, id)
redis.call('ZREM', owner_running, id)
redis.call('ZADD', owner_queued, n, id)
redis.call('HSET', job, 'status', 'queued')
return 1
