// The default job store: SQLite in DATA_DIR, through Node's built-in
// node:sqlite (measured as fast as better-sqlite3 for this load, and no native
// module to build; see docs/benchmarks.md). WAL, so readers never wait for the
// one writer, and synchronous=NORMAL: a power cut may lose the last few
// events, never corrupt the file.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { JobEvent } from '../dispatch/types.ts';
import type { JobPage, JobRecord, JobRequest, JobStatus, JobStore, Outcome, Revised, StoredEvent, TranscriptRevision } from './store.ts';
import { nextRevision, revisionsOf, withSpeakerNames } from './store.ts';
import type { TranscriptionResult } from '../protocol/messages.ts';
import type { WebhookDelivery } from './store.ts';
import { FILENAME_WEIGHT, ftsQuery, queryTerms, searchCursor, searchOffset, segmentMatches } from './search.ts';
import type { ListFilters, ListQuery, SearchPage, SearchQuery } from './search.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  n INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  request TEXT NOT NULL,
  audio_path TEXT,
  language TEXT,
  duration REAL,
  processed REAL,
  error TEXT,
  result TEXT,
  webhook TEXT,
  owner TEXT,
  webhook_pending INTEGER NOT NULL DEFAULT 0,
  revisions TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, n);
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner, n);
CREATE INDEX IF NOT EXISTS jobs_webhook_pending ON jobs (webhook_pending) WHERE webhook_pending = 1;
CREATE TABLE IF NOT EXISTS events (
  job_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
`;

// The full-text index of the jobs (GET /api/jobs?q=…, ./search.ts): one row per
// job (rowid = n), its file name and its transcript (the segments' text, else
// the result's). Contentless (the text is in jobs already), and kept by
// triggers, so every write of a job's request or result (the outcome, a
// rename, an edit) updates it and a deleted or purged job leaves it.
const indexed = (row: 'new' | 'jobs') => `json_extract(${row}.request, '$.filename'), COALESCE(
  (SELECT group_concat(json_extract(s.value, '$.text'), ' ') FROM json_each(${row}.result, '$.segments') AS s),
  json_extract(${row}.result, '$.text'))`;
const SEARCH_SCHEMA = `
CREATE VIRTUAL TABLE IF NOT EXISTS jobs_fts USING fts5(
  filename, text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS jobs_fts_insert AFTER INSERT ON jobs BEGIN
  INSERT INTO jobs_fts (rowid, filename, text) VALUES (new.n, ${indexed('new')});
END;
CREATE TRIGGER IF NOT EXISTS jobs_fts_update AFTER UPDATE OF request, result ON jobs BEGIN
  DELETE FROM jobs_fts WHERE rowid = old.n;
  INSERT INTO jobs_fts (rowid, filename, text) VALUES (new.n, ${indexed('new')});
END;
CREATE TRIGGER IF NOT EXISTS jobs_fts_delete AFTER DELETE ON jobs BEGIN
  DELETE FROM jobs_fts WHERE rowid = old.n;
END;
`;

/** The WHERE clauses (of jobs, as `j`) and their parameters for the filters given. */
function filterSql({ status, owner, model, since, until }: ListFilters): { where: string[]; params: Array<number | string | null> } {
  const where: string[] = [];
  const params: Array<number | string | null> = [];
  if (status) where.push('j.status = ?'), params.push(status);
  if (owner !== undefined) where.push('j.owner IS ?'), params.push(owner);
  if (model !== undefined) where.push("json_extract(j.request, '$.model') = ?"), params.push(model);
  if (since !== undefined) where.push('j.created_at >= ?'), params.push(since);
  if (until !== undefined) where.push('j.created_at < ?'), params.push(until);
  return { where, params };
}

type Row = Record<string, unknown>;

function parse<T>(text: unknown): T | null {
  return typeof text === 'string' ? (JSON.parse(text) as T) : null;
}

function toRecord(row: Row): JobRecord {
  return {
    id: row.id as string,
    status: row.status as JobStatus,
    created_at: row.created_at as number,
    started_at: (row.started_at as number | null) ?? null,
    finished_at: (row.finished_at as number | null) ?? null,
    attempts: row.attempts as number,
    request: parse<JobRequest>(row.request)!,
    audio_path: (row.audio_path as string | null) ?? null,
    language: (row.language as string | null) ?? null,
    duration: (row.duration as number | null) ?? null,
    processed: (row.processed as number | null) ?? null,
    error: parse(row.error),
    result: parse(row.result),
    webhook: parse(row.webhook),
  };
}

export class SqliteStore implements JobStore {
  private readonly db: DatabaseSync;
  private readonly sql: Record<string, StatementSync>;
  /** A job's columns but its revisions (the largest, of no use to a list or a search): what those read. */
  private readonly listed: string;

  constructor(file: string) {
    this.db = new DatabaseSync(file);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    this.migrate();
    this.db.exec(SCHEMA);
    this.createSearchIndex();
    this.listed = this.columns().filter((c) => c !== 'revisions').map((c) => `j.${c}`).join(', ');
    const prepare = (text: string) => this.db.prepare(text);
    this.sql = {
      create: prepare('INSERT INTO jobs (id, status, created_at, request, audio_path, owner) VALUES (?, ?, ?, ?, ?, ?)'),
      insertFinished: prepare(
        'INSERT INTO jobs (id, status, created_at, started_at, finished_at, attempts, request, language, duration, processed, result, error, owner) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)',
      ),
      active: prepare("SELECT COUNT(*) AS n FROM jobs WHERE owner IS ? AND status IN ('queued', 'running')"),
      get: prepare('SELECT * FROM jobs WHERE id = ?'),
      queued: prepare("SELECT * FROM jobs WHERE status = 'queued' ORDER BY n"),
      position: prepare("SELECT COUNT(*) AS ahead FROM jobs WHERE status = 'queued' AND n <= (SELECT n FROM jobs WHERE id = ? AND status = 'queued')"),
      running: prepare("UPDATE jobs SET status = 'running', attempts = ?, started_at = COALESCE(started_at, ?) WHERE id = ? AND status IN ('queued', 'running')"),
      requeue: prepare("UPDATE jobs SET status = 'queued' WHERE id = ? AND status = 'running'"),
      last: prepare('SELECT seq, event FROM events WHERE job_id = ? ORDER BY seq DESC LIMIT 1'),
      append: prepare('INSERT INTO events (job_id, seq, event) VALUES (?, ?, ?)'),
      events: prepare('SELECT seq, event FROM events WHERE job_id = ? AND seq > ? ORDER BY seq'),
      progress: prepare('UPDATE jobs SET language = COALESCE(?, language), duration = COALESCE(?, duration), processed = COALESCE(?, processed) WHERE id = ?'),
      finish: prepare(
        "UPDATE jobs SET status = ?, finished_at = ?, result = ?, error = ?, audio_path = NULL, webhook_pending = (json_extract(request, '$.callback_url') IS NOT NULL) WHERE id = ? AND status IN ('queued', 'running')",
      ),
      webhook: prepare('UPDATE jobs SET webhook = ?, webhook_pending = webhook_pending AND NOT ? WHERE id = ?'),
      pendingWebhooks: prepare('SELECT * FROM jobs WHERE webhook_pending = 1 ORDER BY n'),
      interrupted: prepare("SELECT * FROM jobs WHERE status = 'running' ORDER BY n"),
      expired: prepare("SELECT * FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at < ? ORDER BY n"),
      deleteJob: prepare('DELETE FROM jobs WHERE id = ?'),
      deleteEvents: prepare('DELETE FROM events WHERE job_id = ?'),
      succeededResult: prepare("SELECT result FROM jobs WHERE id = ? AND status = 'succeeded' AND result IS NOT NULL"),
      setResult: prepare('UPDATE jobs SET result = ? WHERE id = ?'),
      succeededRevisions: prepare("SELECT result, revisions, finished_at FROM jobs WHERE id = ? AND status = 'succeeded' AND result IS NOT NULL"),
      setRevision: prepare('UPDATE jobs SET result = ?, revisions = ? WHERE id = ?'),
    };
  }

  async create(id: string, request: JobRequest, audioPath: string): Promise<JobRecord> {
    this.sql.create!.run(id, 'queued', Date.now(), JSON.stringify(request), audioPath, request.owner ?? null);
    return (await this.get(id))!;
  }

  async get(id: string): Promise<JobRecord | null> {
    const row = this.sql.get!.get(id) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  async list({ limit, cursor, ...filters }: ListQuery): Promise<JobPage> {
    const before = cursor ? Number(Buffer.from(cursor, 'base64url').toString()) : Number.MAX_SAFE_INTEGER;
    const { where, params } = filterSql(filters);
    where.unshift('j.n < ?'), params.unshift(before);
    const rows = this.db.prepare(`SELECT ${this.listed} FROM jobs AS j WHERE ${where.join(' AND ')} ORDER BY j.n DESC LIMIT ?`).all(...params, limit + 1) as Row[];
    const page = rows.slice(0, limit);
    const next = rows.length > limit ? Buffer.from(String(page[page.length - 1]!.n)).toString('base64url') : null;
    return { jobs: page.map(toRecord), next_cursor: next };
  }

  async search({ q, limit, cursor, ...filters }: SearchQuery): Promise<SearchPage> {
    const terms = queryTerms(q);
    const offset = searchOffset(cursor);
    if (terms.length === 0 || offset === null) return { jobs: [], next_cursor: null };
    const { where, params } = filterSql(filters);
    const rows = this.db.prepare(
      `SELECT ${this.listed} FROM jobs_fts JOIN jobs AS j ON j.n = jobs_fts.rowid WHERE jobs_fts MATCH ? ${where.map((w) => `AND ${w} `).join('')}`
        + `ORDER BY bm25(jobs_fts, ${FILENAME_WEIGHT}, 1), j.n DESC LIMIT ? OFFSET ?`,
    ).all(ftsQuery(terms), ...params, limit + 1, offset) as Row[];
    const page = rows.slice(0, limit).map(toRecord);
    return {
      jobs: page.map((job) => ({ job, matches: segmentMatches(job.result, terms) })),
      next_cursor: rows.length > limit ? searchCursor(offset + limit) : null,
    };
  }

  async activeCount(owner: string | null): Promise<number> {
    return (this.sql.active!.get(owner) as { n: number }).n;
  }

  async queued(): Promise<JobRecord[]> {
    return (this.sql.queued!.all() as Row[]).map(toRecord);
  }

  async position(id: string): Promise<number | null> {
    const { ahead } = this.sql.position!.get(id) as { ahead: number };
    return ahead > 0 ? ahead : null; // 0: the job is not queued (or not there)
  }

  async markRunning(id: string, attempt: number): Promise<void> {
    this.sql.running!.run(attempt, Date.now(), id);
  }

  async requeue(id: string): Promise<void> {
    this.sql.requeue!.run(id);
  }

  async appendEvent(id: string, event: JobEvent): Promise<number> {
    // One writer (this process), and node:sqlite is synchronous: no other append can come in between.
    const text = JSON.stringify(event);
    const last = this.sql.last!.get(id) as { seq: number; event: string } | undefined;
    if (last?.event === text) return last.seq; // the same as the last: a repeat (see JobStore.appendEvent)
    this.sql.append!.run(id, (last?.seq ?? 0) + 1, text);
    return (last?.seq ?? 0) + 1;
  }

  async events(id: string, afterSeq: number): Promise<StoredEvent[]> {
    return (this.sql.events!.all(id, afterSeq) as Array<{ seq: number; event: string }>).map((r) => ({ seq: r.seq, event: JSON.parse(r.event) as JobEvent }));
  }

  async noteProgress(id: string, patch: { language?: string; duration?: number; processed?: number }): Promise<void> {
    this.sql.progress!.run(patch.language ?? null, patch.duration ?? null, patch.processed ?? null, id);
  }

  async finish(id: string, outcome: Outcome): Promise<JobRecord | null> {
    const result = outcome.status === 'succeeded' ? JSON.stringify(outcome.result) : null;
    const error = outcome.status === 'succeeded' ? null : JSON.stringify(outcome.error);
    const { changes } = this.sql.finish!.run(outcome.status, Date.now(), result, error, id);
    return changes === 1 ? this.get(id) : null;
  }

  async insertFinished(id: string, request: JobRequest, outcome: Outcome, startedAt: number): Promise<JobRecord> {
    const result = outcome.status === 'succeeded' ? outcome.result : null;
    const error = outcome.status === 'succeeded' ? null : JSON.stringify(outcome.error);
    this.sql.insertFinished!.run(
      id, outcome.status, startedAt, startedAt, Date.now(), JSON.stringify(request), result?.language ?? null,
      result?.duration ?? null, result?.duration ?? null, result ? JSON.stringify(result) : null, error, request.owner ?? null,
    );
    return (await this.get(id))!;
  }

  async recordWebhook(id: string, delivery: WebhookDelivery, final: boolean): Promise<void> {
    this.sql.webhook!.run(JSON.stringify(delivery), final ? 1 : 0, id);
  }

  async pendingWebhooks(): Promise<JobRecord[]> {
    return (this.sql.pendingWebhooks!.all() as Row[]).map(toRecord);
  }

  async claimWebhook(): Promise<boolean> {
    return true; // one gateway per SQLite file
  }

  async interrupted(): Promise<JobRecord[]> {
    return (this.sql.interrupted!.all() as Row[]).map(toRecord);
  }

  async expired(beforeMs: number): Promise<JobRecord[]> {
    return (this.sql.expired!.all(beforeMs) as Row[]).map(toRecord);
  }

  async delete(id: string): Promise<void> {
    this.sql.deleteEvents!.run(id);
    this.sql.deleteJob!.run(id);
  }

  async renameSpeakers(id: string, names: Record<string, string>): Promise<JobRecord | null> {
    // Read and write in one transaction (IMMEDIATE: the write lock from the start), so no other write comes in between.
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const row = this.sql.succeededResult!.get(id) as { result: string } | undefined;
      if (row) this.sql.setResult!.run(JSON.stringify(withSpeakerNames(JSON.parse(row.result), names)), id);
      this.db.exec('COMMIT');
      return row ? this.get(id) : null;
    } catch (e) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw e;
    }
  }

  async transcriptRevisions(id: string): Promise<TranscriptRevision[] | null> {
    return this.readRevisions(id);
  }

  private readRevisions(id: string): TranscriptRevision[] | null {
    const row = this.sql.succeededRevisions!.get(id) as { result: string; revisions: string | null; finished_at: number | null } | undefined;
    return row ? revisionsOf(row.revisions, JSON.parse(row.result), row.finished_at) : null;
  }

  async reviseTranscript(
    id: string, base: number | undefined, make: (revisions: TranscriptRevision[]) => TranscriptionResult,
  ): Promise<Revised | { stale: number } | null> {
    this.db.exec('BEGIN IMMEDIATE'); // read and write with no other write in between, as renameSpeakers
    try {
      const revisions = this.readRevisions(id); // synchronous: no await inside the transaction
      const next = revisions && nextRevision(revisions, base, make);
      if (next && !('stale' in next)) this.sql.setRevision!.run(next.result, next.revisions, id);
      this.db.exec('COMMIT');
      if (!next || 'stale' in next) return next;
      return { job: (await this.get(id))!, revision: next.revision };
    } catch (e) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }

  private columns(): string[] {
    return (this.db.prepare("SELECT name FROM pragma_table_info('jobs')").all() as Array<{ name: string }>).map((c) => c.name);
  }

  /** A store made by an older version gains the columns it lacks (jobs with no owner stay open to all). */
  private migrate(): void {
    const columns = this.columns();
    if (columns.length === 0) return;
    if (!columns.includes('owner')) this.db.exec('ALTER TABLE jobs ADD COLUMN owner TEXT');
    if (!columns.includes('webhook_pending')) this.db.exec('ALTER TABLE jobs ADD COLUMN webhook_pending INTEGER NOT NULL DEFAULT 0');
    if (!columns.includes('revisions')) this.db.exec('ALTER TABLE jobs ADD COLUMN revisions TEXT');
  }

  /** The full-text index and its triggers; a store made before them has its jobs indexed once, in the same transaction. */
  private createSearchIndex(): void {
    if (this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs_fts'").get()) return;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      this.db.exec(SEARCH_SCHEMA);
      this.db.exec(`INSERT INTO jobs_fts (rowid, filename, text) SELECT jobs.n, ${indexed('jobs')} FROM jobs`);
      this.db.exec('COMMIT');
    } catch (e) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw e;
    }
  }
}
