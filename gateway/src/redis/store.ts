// The job store in Redis (QUEUE_URL=redis://…), shared by every gateway that
// points at it; the same contract as SQLite (../jobs/store.contract.ts).
//
// Layout, every key under `${prefix}:` (<…> stands for a part that varies):
//   seq                    INCR counter: a job's creation number n (its place in line, and list order)
//   job:<id>               hash: SQLite's columns (JSON where SQLite has JSON), n, and owner as a token
//   all                    zset of all jobs by n (not `jobs`: BullMQ's queue of that name owns `jobs:*`)
//   status:<status>        zset by n, one per status
//   owner:<o>              zset by n of one owner's jobs
//   owner:<o>:<status>     zset by n, one per owner and status (active count, filtered lists)
//   finished               zset of finished jobs by finished_at (expiry)
//   webhooks               zset of finished jobs whose webhook is still to be delivered, by n
//   webhook-claim:<id>     a gateway delivering that webhook now (expires)
//   events:<id>            list of JSON events; seq = position in the list, from 1
// <o> is the owner base64url-encoded, or `~` for no owner: `~` is not in the
// base64url alphabet, so no owner's name can collide with it. These names are
// what deployments have stored: ./store.test.ts holds them to it.
//
// Every state change is one Lua script (./scripts/job-*.lua, read and loaded
// by ./lua.ts), so the hash and its indexes never disagree. Each script is
// handed every key it touches in KEYS, named here. Where the index to touch
// depends on what the script reads (a job's status now: job-finish.lua moves
// it out of that status's indexes, job-delete.lua removes it from them), it is
// handed the indexes of every status, global and the owner's, in STATUSES
// order, and picks by position. The owner's indexes depend on the job's owner,
// which only its hash knows: the store reads it first, and a script handed
// another owner's keys (the job was deleted and made again under the same id
// in between) changes nothing and answers 'stale-owner', and the store reads
// the owner again. The one exception is job-fetch.lua: it reads the hashes of
// the ids it finds in an index, keys it cannot be handed beforehand.
//
// Redis Cluster: the scripts and the MULTI in activeCount span a job and its
// indexes, and job-fetch.lua reads undeclared job hashes, so every key of the
// store must be in one hash slot. A hash-tagged prefix does that:
// QUEUE_PREFIX='{whisper}' makes every key `{whisper}:…`, in the slot of
// `whisper` (BullMQ needs such a prefix on Cluster too). The default prefix
// stays `whisper`, untagged: tagging it would rename every key, and an upgraded
// deployment would not find its jobs. (A Cluster of several nodes also needs a
// cluster-aware connection, which ./connection.ts does not make: what is
// Cluster-ready here is the keys, tested on a one-node Cluster.)
//
// Timestamps come from the calling gateway's Date.now(), as with SQLite: the
// gateways' clocks are assumed to be in sync.
import type { Redis } from 'ioredis';
import { connectRedis, parseRedisUrl, redisProblem, type RedisTarget } from './connection.ts';
import { defineScripts, lua, type ScriptCommands } from './lua.ts';
import type { JobEvent } from '../dispatch/types.ts';
import type { JobPage, JobRecord, JobRequest, JobStatus, JobStore, Outcome, Revised, StoredEvent, TranscriptRevision, WebhookDelivery } from '../jobs/store.ts';
import { nextRevision, revisionsOf, withSpeakerNames } from '../jobs/store.ts';
import type { TranscriptionResult } from '../protocol/messages.ts';
import { JOB_STATUSES } from '../jobs/lifecycle.ts';
import { Bm25Ranker, passes, queryTerms, searchCursor, searchOffset, segmentMatches } from '../jobs/search.ts';
import type { ListFilters, ListQuery, SearchPage, SearchQuery } from '../jobs/search.ts';

// Jobs read from an index at a time while a list is filtered or a search reads an owner's jobs.
const SCAN_BATCH = 200;

// The scripts, by the command name each has on the client, and how many KEYS it takes.
const SCRIPTS = {
  whisperJobCreate: lua('job-create', 6),
  whisperJobInsertFinished: lua('job-insert-finished', 7),
  whisperJobRunning: lua('job-running', 5),
  whisperJobRequeue: lua('job-requeue', 5),
  whisperJobFinish: lua('job-finish', 13),
  whisperJobUpdate: lua('job-update', 1),
  whisperJobDelete: lua('job-delete', 16),
  whisperJobFetch: lua('job-fetch', 1),
  whisperJobAppend: lua('job-append', 1),
  whisperJobRenameSpeakers: lua('job-rename-speakers', 1),
  whisperJobReviseTranscript: lua('job-revise-transcript', 1),
};
type Scripts = ScriptCommands<keyof typeof SCRIPTS>;

// Every status, in the order job-finish.lua and job-delete.lua are handed their status indexes.
// The scripts that take every status's index (job-finish, job-delete) find them by position, in this order.
const STATUSES = JOB_STATUSES;

// What a script answers, changing nothing, when the job's owner is not the one whose keys it was handed.
const STALE_OWNER = 'stale-owner';

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
    this.client = defineScripts(client, SCRIPTS);
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

  /** Every status's index, in STATUSES order: global, or (`owner`) that owner's. */
  private statusIndexes(owner?: string): string[] {
    return STATUSES.map((status) => (owner === undefined ? this.key('status', status) : this.key('owner', owner, status)));
  }

  /**
   * Runs a script handed the keys of the job's owner `o`, read from its hash
   * first ('~' when it is not there: the script then finds no job); again with
   * the owner read anew while the script answers that the job's owner is
   * another one (it was deleted and made again under the same id meanwhile).
   */
  private async asOwner(id: string, run: (o: string) => Promise<unknown>): Promise<unknown> {
    for (let tries = 1; ; tries++) {
      const o = (await this.client.hget(this.key('job', id), 'owner')) ?? ownerToken(null);
      const reply = await run(o);
      if (reply !== STALE_OWNER) return reply;
      if (tries >= 5) throw new Error(`job ${id} changed owner ${tries} times while it was being updated`);
    }
  }

  private async fetch(index: string, direction: 'rev' | 'fwd', from: string, to: string, count = -1): Promise<Array<JobRecord & { n: number }>> {
    return this.rows((await this.client.whisperJobFetch(index, `${this.prefix}:job:`, direction, from, to, count)) as string[][]);
  }

  /** job-fetch.lua's answer as records with their n; a job deleted in between (an empty hash) is left out. */
  private rows(flats: string[][]): Array<JobRecord & { n: number }> {
    return flats.filter((flat) => flat.length > 0).map((flat) => {
      const hash = fromFlat(flat);
      return Object.assign(toRecord(hash), { n: Number(hash.n) });
    });
  }

  async create(id: string, request: JobRequest, audioPath: string): Promise<JobRecord> {
    const o = ownerToken(request.owner);
    const flat = (await this.client.whisperJobCreate(
      this.key('job', id), this.key('seq'), this.key('all'), this.key('owner', o), this.key('status', 'queued'), this.key('owner', o, 'queued'),
      id, Date.now(), JSON.stringify(request), audioPath, o,
    )) as string[];
    return toRecord(fromFlat(flat));
  }

  async get(id: string): Promise<JobRecord | null> {
    const hash = await this.client.hgetall(this.key('job', id));
    return hash.id === undefined ? null : toRecord(hash);
  }

  async list({ limit, cursor, ...filters }: ListQuery): Promise<JobPage> {
    const before = cursor ? Number(Buffer.from(cursor, 'base64url').toString()) : null;
    if (before !== null && !Number.isSafeInteger(before)) return { jobs: [], next_cursor: null }; // not a cursor this store gave
    const index = this.listIndex(filters);
    const from = before === null ? '+inf' : `(${before}`;
    let rows: Array<JobRecord & { n: number }>;
    if (filters.model === undefined && filters.since === undefined && filters.until === undefined) {
      rows = await this.fetch(index, 'rev', from, '-inf', limit + 1);
    } else {
      // Filters no index has: read the index newest first until a page (and one more) passes them.
      rows = [];
      for await (const batch of this.scan(index, from, Math.max(limit + 1, SCAN_BATCH))) {
        rows.push(...batch.filter((job) => passes(job, filters)));
        if (rows.length > limit) break;
      }
    }
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const next = rows.length > limit && last ? Buffer.from(String(last.n)).toString('base64url') : null;
    return { jobs: page.map(({ n: _, ...job }) => job), next_cursor: next };
  }

  /**
   * Reads every job of the index that owner and status pick (the owner's
   * finished and unfinished jobs) and ranks those that hold the words: O(jobs)
   * per query, with no index to keep (docs/scaling.md says where it stops).
   */
  async search({ q, limit, cursor, ...filters }: SearchQuery): Promise<SearchPage> {
    const terms = queryTerms(q);
    const offset = searchOffset(cursor);
    if (terms.length === 0 || offset === null) return { jobs: [], next_cursor: null };
    const ranker = new Bm25Ranker<JobRecord & { n: number }>(terms);
    for await (const batch of this.scan(this.listIndex(filters), '+inf', SCAN_BATCH)) {
      for (const job of batch) if (passes(job, filters)) ranker.add(job);
    }
    const ranked = ranker.ranked((job) => job.n);
    return {
      jobs: this.strip(ranked.slice(offset, offset + limit)).map((job) => ({ job, matches: segmentMatches(job.result, terms) })),
      next_cursor: ranked.length > offset + limit ? searchCursor(offset + limit) : null,
    };
  }

  /** The index a list reads: by owner (when given) and status (when given). */
  private listIndex({ status, owner }: ListFilters): string {
    return owner === undefined
      ? (status ? this.key('status', status) : this.key('all'))
      : this.key('owner', ownerToken(owner), ...(status ? [status] : []));
  }

  /** An index's jobs, newest first, from score `from` (ZRANGEBYSCORE's syntax), `batch` at a time. */
  private async *scan(index: string, from: string, batch: number): AsyncGenerator<Array<JobRecord & { n: number }>> {
    for (let next = from; ;) {
      const raw = (await this.client.whisperJobFetch(index, `${this.prefix}:job:`, 'rev', next, '-inf', batch)) as string[][];
      const rows = this.rows(raw);
      if (rows.length > 0) yield rows;
      if (raw.length < batch) return;
      // The next batch after the last job read; a job deleted meanwhile has left the index too, so none is read twice.
      if (rows.length > 0) next = `(${rows[rows.length - 1]!.n}`;
    }
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
    const now = Date.now();
    await this.asOwner(id, (o) => this.client.whisperJobRunning(
      this.key('job', id), this.key('status', 'queued'), this.key('status', 'running'), this.key('owner', o, 'queued'), this.key('owner', o, 'running'),
      id, o, attempt, now,
    ));
  }

  async requeue(id: string): Promise<void> {
    await this.asOwner(id, (o) => this.client.whisperJobRequeue(
      this.key('job', id), this.key('status', 'running'), this.key('status', 'queued'), this.key('owner', o, 'running'), this.key('owner', o, 'queued'),
      id, o,
    ));
  }

  async appendEvent(id: string, event: JobEvent): Promise<number> {
    return Number(await this.client.whisperJobAppend(this.key('events', id), JSON.stringify(event)));
  }

  async events(id: string, afterSeq: number): Promise<StoredEvent[]> {
    const from = Math.max(0, Math.floor(afterSeq));
    const texts = await this.client.lrange(this.key('events', id), from, -1);
    return texts.map((text, i) => ({ seq: from + i + 1, event: JSON.parse(text) as JobEvent }));
  }

  async noteProgress(id: string, patch: { language?: string; duration?: number; processed?: number }): Promise<void> {
    const fields = Object.entries(patch).filter(([, v]) => v !== undefined && v !== null).flatMap(([k, v]) => [k, String(v)]);
    if (fields.length > 0) await this.client.whisperJobUpdate(this.key('job', id), ...fields);
  }

  async finish(id: string, outcome: Outcome): Promise<JobRecord | null> {
    const result = outcome.status === 'succeeded' ? JSON.stringify(outcome.result) : '';
    const error = outcome.status === 'succeeded' ? '' : JSON.stringify(outcome.error);
    const now = Date.now();
    const flat = (await this.asOwner(id, (o) => this.client.whisperJobFinish(
      this.key('job', id), this.key('finished'), this.key('webhooks'), ...this.statusIndexes(), ...this.statusIndexes(o),
      id, o, outcome.status, now, result, error,
    ))) as string[];
    return flat.length > 0 ? toRecord(fromFlat(flat)) : null;
  }

  async insertFinished(id: string, request: JobRequest, outcome: Outcome, startedAt: number): Promise<JobRecord> {
    const result = outcome.status === 'succeeded' ? outcome.result : null;
    const o = ownerToken(request.owner);
    const flat = (await this.client.whisperJobInsertFinished(
      this.key('job', id), this.key('seq'), this.key('all'), this.key('owner', o), this.key('status', outcome.status), this.key('owner', o, outcome.status), this.key('finished'),
      id, outcome.status, startedAt, Date.now(), JSON.stringify(request), o,
      result?.language ?? '', result ? String(result.duration) : '', result ? JSON.stringify(result) : '', outcome.status === 'succeeded' ? '' : JSON.stringify(outcome.error),
    )) as string[];
    return toRecord(fromFlat(flat));
  }

  async recordWebhook(id: string, delivery: WebhookDelivery, final: boolean): Promise<void> {
    await this.client.whisperJobUpdate(this.key('job', id), 'webhook', JSON.stringify(delivery));
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
    await this.asOwner(id, (o) => this.client.whisperJobDelete(
      this.key('job', id), this.key('events', id), this.key('all'), this.key('owner', o), this.key('finished'), this.key('webhooks'),
      ...this.statusIndexes(), ...this.statusIndexes(o),
      id, o,
    ));
  }

  async renameSpeakers(id: string, names: Record<string, string>): Promise<JobRecord | null> {
    // Read, rename, and store only if the result is still the one read (job-rename-speakers.lua); else again.
    for (let tries = 1; ; tries++) {
      const [status, read] = await this.client.hmget(this.key('job', id), 'status', 'result');
      if (status !== 'succeeded' || read == null) return null;
      const renamed = JSON.stringify(withSpeakerNames(JSON.parse(read), names));
      const reply = await this.client.whisperJobRenameSpeakers(this.key('job', id), read, renamed);
      if (reply !== 'changed') return (reply as string[]).length > 0 ? toRecord(fromFlat(reply as string[])) : null;
      if (tries >= 20) throw new Error(`the speakers of job ${id} changed ${tries} times while they were being renamed`);
    }
  }

  async transcriptRevisions(id: string): Promise<TranscriptRevision[] | null> {
    const [status, result, revisions, finishedAt] = await this.client.hmget(this.key('job', id), 'status', 'result', 'revisions', 'finished_at');
    return status === 'succeeded' && result != null ? revisionsOf(revisions, JSON.parse(result), finishedAt == null ? null : Number(finishedAt)) : null;
  }

  async reviseTranscript(
    id: string, base: number | undefined, make: (revisions: TranscriptRevision[]) => TranscriptionResult,
  ): Promise<Revised | { stale: number } | null> {
    // Read, revise, and store only if result and revisions are still those read (job-revise-transcript.lua); else again.
    for (let tries = 1; ; tries++) {
      const [status, read, readRevisions, finishedAt] = await this.client.hmget(this.key('job', id), 'status', 'result', 'revisions', 'finished_at');
      if (status !== 'succeeded' || read == null) return null;
      const next = nextRevision(revisionsOf(readRevisions, JSON.parse(read), finishedAt == null ? null : Number(finishedAt)), base, make);
      if ('stale' in next) return next;
      const reply = await this.client.whisperJobReviseTranscript(this.key('job', id), read, readRevisions ?? '', next.result, next.revisions);
      if (reply !== 'changed') return (reply as string[]).length > 0 ? { job: toRecord(fromFlat(reply as string[])), revision: next.revision } : null;
      if (tries >= 20) throw new Error(`the transcript of job ${id} changed ${tries} times while it was being revised`);
    }
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
