-- job-append: appends an event to a job's list and answers its number (the
-- list's new length: atomic however many gateways append).
--
-- A command whose reply is lost when the connection drops is sent again by the
-- client after it reconnects (ioredis resends what was not answered), so an
-- append may arrive twice. An event equal to the last one stored is that
-- resend, and is not appended again: no two events in a row of a job are equal
-- (each carries what changed: a new segment, more progress, the next attempt).
--
-- KEYS[1] events  <prefix>:events:<id>
-- ARGV[1] the event, as JSON
-- Returns the event's number, from 1.
local events = KEYS[1]
if redis.call('LINDEX', events, -1) == ARGV[1] then return redis.call('LLEN', events) end
return redis.call('RPUSH', events, ARGV[1])
