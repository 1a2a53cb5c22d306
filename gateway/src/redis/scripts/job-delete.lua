-- job-delete: removes a job, its events and every index entry it has. Deleting
-- a job that is not there deletes its events, if any, and nothing else.
--
-- Which status indexes hold the job depends on its status (read here, from its
-- hash), so the caller passes every status index, global and its owner's,
-- always in this order of statuses (STATUS below, and STATUSES in
-- ../store.ts): queued, running, succeeded, failed, cancelled.
--
-- KEYS[1]       job           <prefix>:job:<id>
-- KEYS[2]       events        <prefix>:events:<id>
-- KEYS[3]       all           <prefix>:all
-- KEYS[4]       owner         <prefix>:owner:<o>
-- KEYS[5]       finished      <prefix>:finished
-- KEYS[6]       webhooks      <prefix>:webhooks
-- KEYS[7..11]   status index  <prefix>:status:<status>, one per status in that order
-- KEYS[12..16]  owner's       <prefix>:owner:<o>:<status>, one per status in that order
-- ARGV[1] id, ARGV[2] owner token <o>, read by the caller from the job's hash:
-- 'stale-owner' (and nothing changed) when the job's owner is another one now,
-- as in job-running.lua. Otherwise 1.
local STATUS = { queued = 0, running = 1, succeeded = 2, failed = 3, cancelled = 4 }

local job, events, all, owner_all, finished, webhooks = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, o = ARGV[1], ARGV[2]

local s = redis.call('HMGET', job, 'status', 'owner')
local status, owner = s[1], s[2]
if status then
  if owner ~= o then return 'stale-owner' end
  redis.call('ZREM', all, id)
  if STATUS[status] ~= nil then
    redis.call('ZREM', KEYS[7 + STATUS[status]], id)
    redis.call('ZREM', KEYS[12 + STATUS[status]], id)
  end
  redis.call('ZREM', owner_all, id)
  redis.call('ZREM', finished, id)
  redis.call('ZREM', webhooks, id)
end
redis.call('DEL', job, events)
return 1
