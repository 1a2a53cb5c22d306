// The job store in Redis (QUEUE_URL=redis://…), shared by every gateway that
// points at it; the same contract as SQLite (../jobs/store.contract.ts).
//
// Layout, every key under `${prefix}:`:
//   seq                    INCR counter: a job's creation number n (its place in line, and list order)
//   job:{id}               hash: SQLite's columns (JSON where SQLite has JSON), n, and owner as a token
//   all                    zset of all jobs by n (not `jobs`: BullMQ's queue of that name owns `jobs:*`)
//   status:{status}        zset by n, one per status
//   owner:{o}              zset by n of one owner's jobs
//   owner:{o}:{status}     zset by n, one per owner and status (active count, filtered lists)
//   finished               zset of finished jobs by finished_at (expiry)
//   webhooks               zset of finished jobs whose webhook is still to be delivered, by n
//   webhook-claim:{id}     a gateway delivering that webhook now (expires)
//   events:{id}            list of JSON events; seq = position in the list, from 1
// {o} is the owner base64url-encoded, or `~` for no owner: `~` is not in the
// base64url alphabet, so no owner's name can collide with it.
//
// Every state change is one Lua script, so the hash and its indexes never
// disagree. The scripts build key names from the prefix instead of declaring
// them in KEYS: fine on one Redis (or a primary with replicas), not Redis
// Cluster safe. Timestamps come from the calling gateway's Date.now(), as with
// SQLite: the gateways' clocks are assumed to be in sync.
import type { Redis } from 'ioredis';
import { connectRedis, parseRedisUrl, redisProblem, type RedisTarget } from './connection.ts';
import type { JobEvent } from '../jobs/types.ts';
import type { JobPage, JobRecord, JobRequest, JobStatus, JobStore, Outcome, StoredEvent } from '../jobs/store.ts';
import type { WebhookDelivery } from '../jobs/webhooks.ts';

const PRELUDE = `
local p = ARGV[1]
local function job(id) return p .. ':job:' .. id end
local function move(id, n, owner, from, to)
  redis.call('ZREM', p .. ':status:' .. from, id)
  redis.call('ZADD', p .. ':status:' .. to, n, id)
  redis.call('ZREM', p .. ':owner:' .. owner .. ':' .. from, id)
  redis.call('ZADD', p .. ':owner:' .. owner .. ':' .. to, n, id)
end
`;

const SCRIPTS = {
  // ARGV: prefix, id, now, request, audio path, owner token. A create that
  // ioredis resends after a lost reply finds its own job and returns it; a
  // different job under the same id is an error, as SQLite's UNIQUE is.
  whisperJobCreate: `
local id, key = ARGV[2], job(ARGV[2])
if redis.call('EXISTS', key) == 1 then
  local had = redis.call('HMGET', key, 'request', 'audio_path')
  if had[1] ~= ARGV[4] or had[2] ~= ARGV[5] then return redis.error_reply('job ' .. id .. ' already exists') end
  return redis.call('HGETALL', key)
end
local n = redis.call('INCR', p .. ':seq')
redis.call('HSET', key, 'id', id, 'n', n, 'status', 'queued', 'created_at', ARGV[3], 'attempts', 0, 'request', ARGV[4], 'audio_path', ARGV[5], 'owner', ARGV[6])
redis.call('ZADD', p .. ':all', n, id)
redis.call('ZADD', p .. ':owner:' .. ARGV[6], n, id)
redis.call('ZADD', p .. ':status:queued', n, id)
redis.call('ZADD', p .. ':owner:' .. ARGV[6] .. ':queued', n, id)
return redis.call('HGETALL', key)`,
  // ARGV: prefix, id, status, started, finished, request, owner token, then language, duration, result
  // JSON, error JSON ('' when absent). A job finished already when stored (a realtime session): in every
  // index a finished job is in, never in a queue. A resend after a lost reply finds its own job.
  whisperJobInsertFinished: `
local id, key = ARGV[2], job(ARGV[2])
if redis.call('EXISTS', key) == 1 then
  if redis.call('HGET', key, 'request') ~= ARGV[6] then return redis.error_reply('job ' .. id .. ' already exists') end
  return redis.call('HGETALL', key)
end
local n, status, o = redis.call('INCR', p .. ':seq'), ARGV[3], ARGV[7]
redis.call('HSET', key, 'id', id, 'n', n, 'status', status, 'created_at', ARGV[4], 'started_at', ARGV[4], 'finished_at', ARGV[5], 'attempts', 1, 'request', ARGV[6], 'owner', o)
local optional = { 'language', 'duration', 'result', 'error' }
for i, field in ipairs(optional) do
  if ARGV[7 + i] ~= '' then redis.call('HSET', key, field, ARGV[7 + i]) end
end
if ARGV[9] ~= '' then redis.call('HSET', key, 'processed', ARGV[9]) end
redis.call('ZADD', p .. ':all', n, id)
redis.call('ZADD', p .. ':owner:' .. o, n, id)
redis.call('ZADD', p .. ':status:' .. status, n, id)
redis.call('ZADD', p .. ':owner:' .. o .. ':' .. status, n, id)
redis.call('ZADD', p .. ':finished', ARGV[5], id)
return redis.call('HGETALL', key)`,
  // ARGV: prefix, id, attempt, now. From queued or running only; the first start stands.
  whisperJobRunning: `
local id, key = ARGV[2], job(ARGV[2])
local s = redis.call('HMGET', key, 'status', 'n', 'owner')
if s[1] ~= 'queued' and s[1] ~= 'running' then return 0 end
if s[1] == 'queued' then move(id, s[2], s[3], 'queued', 'running') end
redis.call('HSET', key, 'status', 'running', 'attempts', ARGV[3])
redis.call('HSETNX', key, 'started_at', ARGV[4])
return 1`,
  // ARGV: prefix, id. From running only; its score is still n, so it is back where it was in line.
  whisperJobRequeue: `
local id, key = ARGV[2], job(ARGV[2])
local s = redis.call('HMGET', key, 'status', 'n', 'owner')
if s[1] ~= 'running' then return 0 end
move(id, s[2], s[3], 'running', 'queued')
redis.call('HSET', key, 'status', 'queued')
return 1`,
  // ARGV: prefix, id, status, now, result JSON or '', error JSON or ''. The first outcome stands:
  // a job that had ended (or is gone) is left as it is, and the answer is empty.
  whisperJobFinish: `
local id, key = ARGV[2], job(ARGV[2])
local s = redis.call('HMGET', key, 'status', 'n', 'owner')
if s[1] ~= 'queued' and s[1] ~= 'running' then return {} end
do
  move(id, s[2], s[3], s[1], ARGV[3])
  redis.call('HDEL', key, 'audio_path', 'result', 'error')
  redis.call('HSET', key, 'status', ARGV[3], 'finished_at', ARGV[4])
  if ARGV[5] ~= '' then redis.call('HSET', key, 'result', ARGV[5]) end
  if ARGV[6] ~= '' then redis.call('HSET', key, 'error', ARGV[6]) end
  redis.call('ZADD', p .. ':finished', ARGV[4], id)
  local callback = cjson.decode(redis.call('HGET', key, 'request')).callback_url
  if callback and callback ~= cjson.null then redis.call('ZADD', p .. ':webhooks', s[2], id) end
end
return redis.call('HGETALL', key)`,
  // ARGV: prefix, id, then field, value pairs: set on a job that exists (never recreate a deleted one).
  whisperJobUpdate: `
local key = job(ARGV[2])
if redis.call('EXISTS', key) == 0 then return 0 end
for i = 3, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
return 1`,
  // ARGV: prefix, id.
  whisperJobDelete: `
local id, key = ARGV[2], job(ARGV[2])
local s = redis.call('HMGET', key, 'status', 'owner')
if s[1] then
  redis.call('ZREM', p .. ':all', id)
  redis.call('ZREM', p .. ':status:' .. s[1], id)
  redis.call('ZREM', p .. ':owner:' .. s[2], id)
  redis.call('ZREM', p .. ':owner:' .. s[2] .. ':' .. s[1], id)
  redis.call('ZREM', p .. ':finished', id)
  redis.call('ZREM', p .. ':webhooks', id)
end
redis.call('DEL', key, p .. ':events:' .. id)
return 1`,
  // ARGV: prefix, index key, 'rev' or 'fwd', from score, to score, count (-1: all).
  // Ids and their hashes in one script: a job deleted in between cannot be half read.
  whisperJobFetch: `
local ids
if ARGV[3] == 'rev' then ids = redis.call('ZREVRANGEBYSCORE', ARGV[2], ARGV[4], ARGV[5], 'LIMIT', 0, ARGV[6])
else ids = redis.call('ZRANGEBYSCORE', ARGV[2], ARGV[4], ARGV[5], 'LIMIT', 0, ARGV[6]) end
local out = {}
for i, id in ipairs(ids) do out[i] = redis.call('HGETALL', job(id)) end
return out`,
};

type Arg = string | number;
type Scripts = { [K in keyof typeof SCRIPTS]: (...args: Arg[]) => Promise<unknown> };

type Hash = Record<string, string>;

function fromFlat(flat: string[]): Hash {
  const hash: Hash = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
  return hash;
}

function toRecord(h: Hash): JobRecord {
  const num = (v: string | undefined) => (v === undefined ? null : Number(v));
  const json = <T>(v: string | undefined) => (v === undefined ? null : (JSON.parse(v) as T));
  return {
    id: h.id!,
    status: h.status as JobStatus,
    created_at: Number(h.created_at),
    started_at: num(h.started_at),
    finished_at: num(h.finished_at),
    attempts: Number(h.attempts),
    request: JSON.parse(h.request!) as JobRequest,
    audio_path: h.audio_path ?? null,
    language: h.language ?? null,
    duration: num(h.duration),
    processed: num(h.processed),
    error: json(h.error),
    result: json(h.result),
    webhook: json(h.webhook),
  };
}

const ownerToken = (owner: string | null | undefined) => (owner == null ? '~' : Buffer.from(owner).toString('base64url'));

/** Resolves once the client is ready; rejects with what is wrong after `ms`. */
function ready(client: Redis, target: RedisTarget, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`${redisProblem(client, target) ?? `Redis at ${target.label} is not ready`} after ${ms / 1000} s (QUEUE_URL)`));
    }, ms);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

export class RedisStore implements JobStore {
  private readonly client: Redis & Scripts;
  private readonly target: RedisTarget;
  private readonly prefix: string;

  /** Connects, waiting up to `connectTimeoutMs` (5 s) for a first connection. */
  static async connect(url: string, options: { prefix?: string; connectTimeoutMs?: number } = {}): Promise<RedisStore> {
    const target = parseRedisUrl(url);
    const client = connectRedis(url, 'store');
    try {
      await ready(client, target, options.connectTimeoutMs ?? 5000);
    } catch (e) {
      client.disconnect();
      throw e;
    }
    return new RedisStore(client, target, options.prefix);
  }

  /** The store owns `client` from now on: close() quits it. */
  constructor(client: Redis, target: RedisTarget, prefix = 'whisper') {
    for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: 0, lua: PRELUDE + lua });
    this.client = client as Redis & Scripts;
    this.target = target;
    this.prefix = prefix;
  }

  /** Null while Redis is connected; otherwise what is wrong (commands wait meanwhile). */
  health(): string | null {
    return redisProblem(this.client, this.target);
  }

  private key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  private async fetch(index: string, direction: 'rev' | 'fwd', from: string, to: string, count = -1): Promise<Array<JobRecord & { n: number }>> {
    const rows = (await this.client.whisperJobFetch(this.prefix, index, direction, from, to, count)) as string[][];
    return rows.filter((flat) => flat.length > 0).map((flat) => {
      const hash = fromFlat(flat);
      return Object.assign(toRecord(hash), { n: Number(hash.n) });
    });
  }

  async create(id: string, request: JobRequest, audioPath: string): Promise<JobRecord> {
    const flat = (await this.client.whisperJobCreate(this.prefix, id, Date.now(), JSON.stringify(request), audioPath, ownerToken(request.owner))) as string[];
    return toRecord(fromFlat(flat));
  }

  async get(id: string): Promise<JobRecord | null> {
    const hash = await this.client.hgetall(this.key('job', id));
    return hash.id === undefined ? null : toRecord(hash);
  }

  async list({ status, limit, cursor, owner }: { status?: JobStatus; limit: number; cursor?: string; owner?: string | null }): Promise<JobPage> {
    const before = cursor ? Number(Buffer.from(cursor, 'base64url').toString()) : null;
    if (before !== null && !Number.isSafeInteger(before)) return { jobs: [], next_cursor: null }; // not a cursor this store gave
    const index = owner === undefined
      ? (status ? this.key('status', status) : this.key('all'))
      : this.key('owner', ownerToken(owner), ...(status ? [status] : []));
    const rows = await this.fetch(index, 'rev', before === null ? '+inf' : `(${before}`, '-inf', limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const next = rows.length > limit && last ? Buffer.from(String(last.n)).toString('base64url') : null;
    return { jobs: page.map(({ n: _, ...job }) => job), next_cursor: next };
  }

  async activeCount(owner: string | null): Promise<number> {
    const o = ownerToken(owner);
    // One transaction: a job moving from queued to running is counted once.
    const replies = await this.client.multi().zcard(this.key('owner', o, 'queued')).zcard(this.key('owner', o, 'running')).exec();
    return (replies ?? []).reduce((sum, [error, n]) => {
      if (error) throw error;
      return sum + Number(n);
    }, 0);
  }

  async queued(): Promise<JobRecord[]> {
    return this.strip(await this.fetch(this.key('status', 'queued'), 'fwd', '-inf', '+inf'));
  }

  async position(id: string): Promise<number | null> {
    const rank = await this.client.zrank(this.key('status', 'queued'), id);
    return rank === null ? null : rank + 1;
  }

  async markRunning(id: string, attempt: number): Promise<void> {
    await this.client.whisperJobRunning(this.prefix, id, attempt, Date.now());
  }

  async requeue(id: string): Promise<void> {
    await this.client.whisperJobRequeue(this.prefix, id);
  }

  async appendEvent(id: string, event: JobEvent): Promise<number> {
    // The list's new length is the event's number: atomic however many gateways append.
    return this.client.rpush(this.key('events', id), JSON.stringify(event));
  }

  async events(id: string, afterSeq: number): Promise<StoredEvent[]> {
    const from = Math.max(0, Math.floor(afterSeq));
    const texts = await this.client.lrange(this.key('events', id), from, -1);
    return texts.map((text, i) => ({ seq: from + i + 1, event: JSON.parse(text) as JobEvent }));
  }

  async noteProgress(id: string, patch: { language?: string; duration?: number; processed?: number }): Promise<void> {
    const fields = Object.entries(patch).filter(([, v]) => v !== undefined && v !== null).flatMap(([k, v]) => [k, String(v)]);
    if (fields.length > 0) await this.client.whisperJobUpdate(this.prefix, id, ...fields);
  }

  async finish(id: string, outcome: Outcome): Promise<JobRecord | null> {
    const result = outcome.status === 'succeeded' ? JSON.stringify(outcome.result) : '';
    const error = outcome.status === 'succeeded' ? '' : JSON.stringify(outcome.error);
    const flat = (await this.client.whisperJobFinish(this.prefix, id, outcome.status, Date.now(), result, error)) as string[];
    return flat.length > 0 ? toRecord(fromFlat(flat)) : null;
  }

  async insertFinished(id: string, request: JobRequest, outcome: Outcome, startedAt: number): Promise<JobRecord> {
    const result = outcome.status === 'succeeded' ? outcome.result : null;
    const flat = (await this.client.whisperJobInsertFinished(
      this.prefix, id, outcome.status, startedAt, Date.now(), JSON.stringify(request), ownerToken(request.owner),
      result?.language ?? '', result ? String(result.duration) : '', result ? JSON.stringify(result) : '', outcome.status === 'succeeded' ? '' : JSON.stringify(outcome.error),
    )) as string[];
    return toRecord(fromFlat(flat));
  }

  async recordWebhook(id: string, delivery: WebhookDelivery, final: boolean): Promise<void> {
    await this.client.whisperJobUpdate(this.prefix, id, 'webhook', JSON.stringify(delivery));
    if (final) await this.client.zrem(this.key('webhooks'), id);
  }

  async pendingWebhooks(): Promise<JobRecord[]> {
    return this.strip(await this.fetch(this.key('webhooks'), 'fwd', '-inf', '+inf'));
  }

  async claimWebhook(id: string, forMs: number): Promise<boolean> {
    return (await this.client.set(this.key('webhook-claim', id), '1', 'PX', forMs, 'NX')) === 'OK';
  }

  async interrupted(): Promise<JobRecord[]> {
    return this.strip(await this.fetch(this.key('status', 'running'), 'fwd', '-inf', '+inf'));
  }

  async expired(beforeMs: number): Promise<JobRecord[]> {
    return this.strip(await this.fetch(this.key('finished'), 'fwd', '-inf', `(${beforeMs}`));
  }

  async delete(id: string): Promise<void> {
    await this.client.whisperJobDelete(this.prefix, id);
  }

  async close(): Promise<void> {
    if (this.client.status === 'end') return;
    // quit() waits for the server's answer: only when there is one to wait for.
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }

  private strip(rows: Array<JobRecord & { n: number }>): JobRecord[] {
    return rows.map(({ n: _, ...job }) => job);
  }
}
