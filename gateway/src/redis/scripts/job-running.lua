-- job-running: marks a job running, from queued or running only (a job that
-- ended, or is gone, is left as it is); the first start stands.
--
-- KEYS[1] job            <prefix>:job:<id>
-- KEYS[2] queued         <prefix>:status:queued
-- KEYS[3] running        <prefix>:status:running
-- KEYS[4] owner_queued   <prefix>:owner:<o>:queued
-- KEYS[5] owner_running  <prefix>:owner:<o>:running
-- ARGV[1] id, ARGV[2] owner token <o>, ARGV[3] attempt, ARGV[4] now (ms).
-- <o> is the owner the caller read from the job's hash before the call: if the
-- job's owner is another one now (deleted and made again under the same id in
-- between), nothing is changed and the answer is 'stale-owner', for the caller
-- to read the owner again and retry. Otherwise 1 when it is running, 0 when not.
local job, queued, running, owner_queued, owner_running = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, o, attempt, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local s = redis.call('HMGET', job, 'status', 'n', 'owner')
local status, n, owner = s[1], s[2], s[3]
if status ~= 'queued' and status ~= 'running' then return 0 end
if owner ~= o then return 'stale-owner' end
if status == 'queued' then
  redis.call('ZREM', queued, id)
  redis.call('ZADD', running, n, id)
  redis.call('ZREM', owner_queued, id)
  redis.call('ZADD', owner_running, n, id)
end
redis.call('HSET', job, 'status', 'running', 'attempts', attempt)
redis.call('HSETNX', job, 'started_at', now)
return 1
