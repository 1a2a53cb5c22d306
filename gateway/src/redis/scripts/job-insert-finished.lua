-- job-insert-finished: stores a job that finished already when it is stored
-- (a realtime session): in every index a finished job is in, never in a queue.
-- A resend after a lost reply finds its own job; a different job under the
-- same id is an error.
--
-- KEYS[1] job           <prefix>:job:<id>
-- KEYS[2] seq           <prefix>:seq
-- KEYS[3] all           <prefix>:all
-- KEYS[4] owner         <prefix>:owner:<o>
-- KEYS[5] status        <prefix>:status:<status>
-- KEYS[6] owner_status  <prefix>:owner:<o>:<status>
-- KEYS[7] finished      <prefix>:finished
-- ARGV[1] id, ARGV[2] status, ARGV[3] started (ms; also its creation time),
-- ARGV[4] finished (ms), ARGV[5] request JSON, ARGV[6] owner token <o>, then
-- ARGV[7] language, ARGV[8] duration (also what was processed), ARGV[9] result
-- JSON, ARGV[10] error JSON: '' for each one that is absent.
-- Returns the job's hash, flat (HGETALL).
local job, seq, all, owner, status_index, owner_status, finished = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local id, status, started, finished_at, request, o = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]

if redis.call('EXISTS', job) == 1 then
  if redis.call('HGET', job, 'request') ~= request then return redis.error_reply('job ' .. id .. ' already exists') end
  return redis.call('HGETALL', job)
end
local n = redis.call('INCR', seq)
redis.call('HSET', job, 'id', id, 'n', n, 'status', status, 'created_at', started, 'started_at', started, 'finished_at', finished_at, 'attempts', 1, 'request', request, 'owner', o)
local optional = { 'language', 'duration', 'result', 'error' }
for i, field in ipairs(optional) do
  if ARGV[6 + i] ~= '' then redis.call('HSET', job, field, ARGV[6 + i]) end
end
if ARGV[8] ~= '' then redis.call('HSET', job, 'processed', ARGV[8]) end
redis.call('ZADD', all, n, id)
redis.call('ZADD', owner, n, id)
redis.call('ZADD', status_index, n, id)
redis.call('ZADD', owner_status, n, id)
redis.call('ZADD', finished, finished_at, id)
return redis.call('HGETALL', job)
