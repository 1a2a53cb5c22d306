-- job-rename-speakers: stores a succeeded job's result with its speakers
-- renamed, if the result is still the one the caller read and renamed: a
-- compare-and-set, so that two renames (from any gateways) never lose one
-- another's names. The caller (../store.ts) edits the JSON, not this script:
-- cjson would rewrite the rest of it (an empty list as {}, numbers to 14
-- digits), and the result must stay byte for byte what the worker sent.
--
-- KEYS[1] job  <prefix>:job:<id>
-- ARGV[1] the result JSON as the caller read it, ARGV[2] the renamed result JSON.
-- Returns the job's hash, flat (HGETALL), once stored; {} when the job is gone
-- or has no result (not succeeded); 'changed' (and nothing is written) when
-- its result is not ARGV[1] any more: the caller reads it again and retries.
local job = KEYS[1]
local read, renamed = ARGV[1], ARGV[2]

local s = redis.call('HMGET', job, 'status', 'result')
local status, result = s[1], s[2]
if status ~= 'succeeded' or not result then return {} end
if result ~= read then return 'changed' end
redis.call('HSET', job, 'result', renamed)
return redis.call('HGETALL', job)
