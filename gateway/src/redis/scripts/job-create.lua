-- job-create: stores a new job, queued, with its hash and every index a queued
-- job is in; its creation number n (from seq) is its place in line and in lists.
-- A create that ioredis resends after a lost reply finds its own job and
-- returns it; a different job under the same id is an error, as SQLite's
-- UNIQUE is.
--
-- KEYS[1] job           <prefix>:job:<id>
-- KEYS[2] seq           <prefix>:seq
-- KEYS[3] all           <prefix>:all
-- KEYS[4] owner         <prefix>:owner:<o>
-- KEYS[5] queued        <prefix>:status:queued
-- KEYS[6] owner_queued  <prefix>:owner:<o>:queued
-- ARGV[1] id, ARGV[2] now (ms), ARGV[3] request JSON, ARGV[4] audio path,
-- ARGV[5] owner token <o> (as in KEYS[4] and KEYS[6]; kept in the hash).
-- Returns the job's hash, flat (HGETALL).
local job, seq, all, owner, queued, owner_queued = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, now, request, audio_path, o = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

if redis.call('EXISTS', job) == 1 then
  local had = redis.call('HMGET', job, 'request', 'audio_path')
  if had[1] ~= request or had[2] ~= audio_path then return redis.error_reply('job ' .. id .. ' already exists') end
  return redis.call('HGETALL', job)
end
local n = redis.call('INCR', seq)
redis.call('HSET', job, 'id', id, 'n', n, 'status', 'queued', 'created_at', now, 'attempts', 0, 'request', request, 'audio_path', audio_path, 'owner', o)
redis.call('ZADD', all, n, id)
redis.call('ZADD', owner, n, id)
redis.call('ZADD', queued, n, id)
redis.call('ZADD', owner_queued, n, id)
return redis.call('HGETALL', job)
