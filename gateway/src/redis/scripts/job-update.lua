-- job-update: sets fields on a job that exists (progress, a webhook's
-- delivery), never making again one that was deleted.
--
-- KEYS[1] job  <prefix>:job:<id>
-- ARGV: field, value, field, value, …
-- Returns 1 when the job was there, 0 when not.
local job = KEYS[1]
if redis.call('EXISTS', job) == 0 then return 0 end
for i = 1, #ARGV, 2 do redis.call('HSET', job, ARGV[i], ARGV[i + 1]) end
return 1
