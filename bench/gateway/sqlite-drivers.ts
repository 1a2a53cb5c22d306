// Why node:sqlite: the job store's write pattern (a job row, then one event
// row per segment and a progress update every few) on node:sqlite and on
// better-sqlite3, same schema and pragmas, alternated twice.
//
//   (cd gateway && npm install --no-save better-sqlite3) && node bench/gateway/sqlite-drivers.ts
//
// better-sqlite3 is not a dependency of the product: install it only to run this.
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { machine, writeSection } from './report.ts';

interface Db {
  exec(sql: string): unknown;
  prepare(sql: string): { run(...a: unknown[]): unknown; all(...a: unknown[]): unknown[] };
}

const SCHEMA = `PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT, record TEXT, created_at INTEGER);
CREATE TABLE events (job_id TEXT, seq INTEGER, event TEXT, PRIMARY KEY (job_id, seq)) WITHOUT ROWID;`;
const JOBS = 200;
const EVENTS = 150;

function run(open: (file: string) => Db): number {
  const db = open(path.join(mkdtempSync(path.join(tmpdir(), 'sqlite-bench-')), 'jobs.sqlite'));
  db.exec(SCHEMA);
  const insert = db.prepare('INSERT INTO jobs VALUES (?, ?, ?, ?)');
  const event = db.prepare('INSERT INTO events VALUES (?, ?, ?)');
  const update = db.prepare('UPDATE jobs SET record = ? WHERE id = ?');
  const read = db.prepare('SELECT seq, event FROM events WHERE job_id = ? AND seq > ? ORDER BY seq');
  const segment = JSON.stringify({ type: 'segment', segment: { id: 1, start: 1, end: 2, text: ' a segment of text', tokens: Array(30).fill(50364) } });
  const started = performance.now();
  for (let j = 0; j < JOBS; j++) {
    insert.run(`job-${j}`, 'queued', '{}', Date.now());
    for (let e = 1; e <= EVENTS; e++) {
      event.run(`job-${j}`, e, segment);
      if (e % 10 === 0) update.run('{"processed":1}', `job-${j}`);
    }
    read.all(`job-${j}`, 0);
  }
  return ((performance.now() - started) * 1000) / (JOBS * EVENTS);
}

const Better = createRequire(new URL('../../gateway/package.json', import.meta.url))('better-sqlite3') as new (file: string) => Db;
const rows: string[] = [];
for (let round = 1; round <= 2; round++) {
  rows.push(`| ${round} | ${run((f) => new DatabaseSync(f) as unknown as Db).toFixed(1)} | ${run((f) => new Better(f)).toFixed(1)} |`);
}
const lines = [
  '## SQLite driver for the job store',
  '',
  `Machine: ${machine()}. ${JOBS} jobs × ${EVENTS} events written one by one (WAL, synchronous=NORMAL), a progress update every 10 events, each job's events read back. Command: \`node bench/gateway/sqlite-drivers.ts\` (better-sqlite3 installed with \`npm install --no-save\`). The two are within noise of each other, so the store uses node:sqlite: built into Node 24, no native module to build or download.`,
  '',
  '| round | node:sqlite µs per event | better-sqlite3 µs per event |',
  '|---|---|---|',
  ...rows,
];
writeSection('sqlite', lines);
