-- job-finish: ends a queued or running job with its outcome. The first outcome
-- stands: a job that had ended (or is gone) is left as it is, and the answer is
-- empty. Finishing forgets the audio path; a job with a callback_url is pending
-- in webhooks from this same write, so a restart in between loses no delivery.
--
-- The job moves from the index of the status it has (read here, from its hash)
-- to the one of its outcome, so the caller passes every status index, global
-- and its owner's, always in this order of statuses (STATUS below, and
-- STATUSES in ../store.ts): queued, running, succeeded, failed, cancelled.
--
-- KEYS[1]      job           <prefix>:job:<id>
-- KEYS[2]      finished      <prefix>:finished
-- KEYS[3]      webhooks      <prefix>:webhooks
-- KEYS[4..8]   status index  <prefix>:status:<status>, one per status in that order
-- KEYS[9..13]  owner's       <prefix>:owner:<o>:<status>, one per status in that order
-- ARGV[1] id, ARGV[2] owner token <o>, ARGV[3] the outcome's status, ARGV[4]
-- now (ms), ARGV[5] result JSON or '', ARGV[6] error JSON or ''.
-- <o> is the owner the caller read from the job's hash: 'stale-owner' (and
-- nothing changed) when the job's owner is another one now, as in
-- job-running.lua. Otherwise the finished job's hash, flat, or {}.
local STATUS = { queued = 0, running = 1, succeeded = 2, failed = 3, cancelled = 4 }
local function index(status) return KEYS[4 + STATUS[status]] end
local function owner_index(status) return KEYS[9 + STATUS[status]] end

local job, finished, webhooks = KEYS[1], KEYS[2], KEYS[3]
local id, o, to, now, result, error_json = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if STATUS[to] == nil then return redis.error_reply('job-finish: unknown status ' .. to) end

local s = redis.call('HMGET', job, 'status', 'n', 'owner')
local from, n, owner = s[1], s[2], s[3]
if from ~= 'queued' and from ~= 'running' then return {} end
if owner ~= o then return 'stale-owner' end
redis.call('ZREM', index(from), id)
redis.call('ZADD', index(to), n, id)
redis.call('ZREM', owner_index(from), id)
redis.call('ZADD', owner_index(to), n, id)
redis.call('HDEL', job, 'audio_path', 'result', 'error')
redis.call('HSET', job, 'status', to, 'finished_at', now)
if result ~= '' then redis.call('HSET', job, 'result', result) end
if error_json ~= '' then redis.call('HSET', job, 'error', error_json) end
redis.call('ZADD', finished, now, id)
local callback = cjson.decode(redis.call('HGET', job, 'request')).callback_url
if callback and callback ~= cjson.null then redis.call('ZADD', webhooks, n, id) end
return redis.call('HGETALL', job)
