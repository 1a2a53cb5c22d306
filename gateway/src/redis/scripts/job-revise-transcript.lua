-- job-revise-transcript: stores a succeeded job's edited transcript as its
-- result and the revisions with it (PUT /api/jobs/{id}/transcript, and a
-- restore), if both are still what the caller read: a compare-and-set, as
-- job-rename-speakers.lua, so that two edits (from any gateways) never lose
-- one another, and a stale base revision is seen. The caller (../store.ts)
-- builds the JSON, not this script (cjson would rewrite it).
--
-- KEYS[1] job  <prefix>:job:<id>
-- ARGV[1] the result JSON as the caller read it, ARGV[2] the revisions JSON as
-- it read them ('' when there were none: the job was never edited),
-- ARGV[3] the new result JSON, ARGV[4] the new revisions JSON.
-- Returns the job's hash, flat (HGETALL), once stored; {} when the job is gone
-- or has no result (not succeeded); 'changed' (and nothing is written) when
-- its result or revisions are not those read any more: the caller reads them
-- again and retries.
local job = KEYS[1]
local read_result, read_revisions, result, revisions = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local s = redis.call('HMGET', job, 'status', 'result', 'revisions')
local status, stored, stored_revisions = s[1], s[2], s[3] or ''
if status ~= 'succeeded' or not stored then return {} end
if stored ~= read_result or stored_revisions ~= read_revisions then return 'changed' end
redis.call('HSET', job, 'result', result, 'revisions', revisions)
return redis.call('HGETALL', job)
