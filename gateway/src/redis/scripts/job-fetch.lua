-- job-fetch: a page of jobs from one index (a sorted set of job ids): the ids
-- and their hashes in one script, so a job deleted in between cannot be half
-- read. A job in the index whose hash is gone comes back as {} (skipped).
--
-- NOT Redis Cluster safe by itself: the job hashes it reads are named by the
-- ids it finds in the index, so they cannot be declared in KEYS; the script
-- builds their names from ARGV[1]. On Redis Cluster this works only when every
-- key of the store is in one hash slot, which a hash-tagged prefix gives
-- (QUEUE_PREFIX='{whisper}': see ../store.ts).
--
-- KEYS[1] index  the sorted set to read: <prefix>:all, :status:<status>,
--                :owner:<o>, :owner:<o>:<status>, :finished or :webhooks
-- ARGV[1] what job keys start with, <prefix>:job: (a job's key is that and its id)
-- ARGV[2] 'rev' (highest score first) or 'fwd', ARGV[3] from score, ARGV[4] to
-- score (ZRANGEBYSCORE's min/max syntax: '-inf', '(5', …), ARGV[5] at most how
-- many (-1: all).
-- Returns one flat hash (HGETALL) per id, in the index's order, without the
-- transcript's revisions (a list has no use for them, and they are the
-- largest field of an edited job).
local index = KEYS[1]
local job_prefix, direction, from, to, count = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local ids
if direction == 'rev' then ids = redis.call('ZREVRANGEBYSCORE', index, from, to, 'LIMIT', 0, count)
else ids = redis.call('ZRANGEBYSCORE', index, from, to, 'LIMIT', 0, count) end
local out = {}
for i, id in ipairs(ids) do
  local hash, listed = redis.call('HGETALL', job_prefix .. id), {}
  for j = 1, #hash, 2 do
    if hash[j] ~= 'revisions' then
      listed[#listed + 1] = hash[j]
      listed[#listed + 1] = hash[j + 1]
    end
  end
  out[i] = listed
end
return out
