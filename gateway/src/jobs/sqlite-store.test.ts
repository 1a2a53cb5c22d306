// The store contract against SQLite in a file, opened again for each test;
// and what is particular to SQLite: the search index of an older store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteStore } from './sqlite-store.ts';
import { storeContract } from './store.contract.ts';
import type { JobRequest } from './store.ts';
import type { TranscriptionResult } from '../protocol/messages.ts';

storeContract('sqlite', () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'jobs-db-')), 'jobs.sqlite');
  return () => new SqliteStore(file);
});

const request: JobRequest = { model: 'base', options: { language: null, task: 'transcribe' }, filename: 'talk.wav', audio_bytes: 100, callback_url: null, source: 'jobs' };
const spoken: TranscriptionResult = {
  text: ' Norland Park. John Dashwood.', language: 'en', language_probability: 0.9, duration: 5, task: 'transcribe', model: 'base',
  segments: [
    { id: 0, seek: 0, start: 0, end: 2, text: ' Norland Park.', tokens: [1], temperature: 0, avg_logprob: -0.1, compression_ratio: 1, no_speech_prob: 0 },
    { id: 1, seek: 0, start: 3, end: 5, text: ' John Dashwood.', tokens: [1], temperature: 0, avg_logprob: -0.1, compression_ratio: 1, no_speech_prob: 0 },
  ],
  timing: { queued_seconds: 0, load_seconds: 0, decode_seconds: 0.1 },
};

// A store made before the search index: its jobs are indexed when it is opened.
test('sqlite: a store made before the search index has its jobs indexed on open', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'jobs-db-')), 'jobs.sqlite');
  const old = new SqliteStore(file);
  await old.create('queued', { ...request, filename: 'Dashwood family.wav' }, '/a/queued');
  await old.insertFinished('done', request, { status: 'succeeded', result: spoken }, Date.now());
  await old.close();
  const db = new DatabaseSync(file); // as an older version left it: no index, no triggers
  db.exec('DROP TRIGGER jobs_fts_insert; DROP TRIGGER jobs_fts_update; DROP TRIGGER jobs_fts_delete; DROP TABLE jobs_fts;');
  db.close();
  const store = new SqliteStore(file);
  try {
    assert.deepEqual((await store.search({ q: 'dashwood', limit: 10 })).jobs.map((hit) => [hit.job.id, hit.matches.map((m) => m.start)]), [['queued', []], ['done', [3]]]);
    await store.delete('done');
    assert.deepEqual((await store.search({ q: 'dashwood', limit: 10 })).jobs.map((hit) => hit.job.id), ['queued'], 'and kept from then on');
  } finally {
    await store.close();
  }
});
