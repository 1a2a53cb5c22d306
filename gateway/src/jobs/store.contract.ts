// The contract every job store passes (SQLite today, Redis next): run it with
// storeContract('name', storage), where storage() makes empty storage and
// returns how to open it; each open() opens that same storage, so that what
// survives a restart is tested too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobRequest, JobStore } from './store.ts';
import type { TranscriptionResult } from './types.ts';

const request = (n = 0): JobRequest => ({
  model: 'base', options: { language: null, task: 'transcribe' }, filename: `talk-${n}.wav`, audio_bytes: 100 + n, callback_url: null, source: 'jobs',
});
const result: TranscriptionResult = {
  text: 'Hello.', language: 'en', language_probability: 0.9, duration: 1, task: 'transcribe', model: 'base',
  segments: [{ id: 0, seek: 0, start: 0, end: 1, text: ' Hello.', tokens: [1], temperature: 0, avg_logprob: -0.1, compression_ratio: 1, no_speech_prob: 0 }],
  timing: { queued_seconds: 0, load_seconds: 0, decode_seconds: 0.1 },
};

export function storeContract(name: string, storage: () => () => JobStore): void {
  const withStore = (title: string, body: (store: JobStore) => void) =>
    test(`${name}: ${title}`, () => {
      const store = storage()();
      try {
        body(store);
      } finally {
        store.close();
      }
    });

  withStore('a new job is queued with its request and audio', (store) => {
    const job = store.create('a', request(), '/data/audio/a');
    assert.equal(job.status, 'queued');
    assert.deepEqual(job.request, request());
    assert.equal(job.audio_path, '/data/audio/a');
    assert.equal(job.attempts, 0);
    assert.ok(Math.abs(job.created_at - Date.now()) < 5000);
    assert.deepEqual(store.get('a'), job);
    assert.equal(store.get('nope'), null);
  });

  withStore('queued jobs come out oldest first, with their positions', (store) => {
    for (const id of ['q1', 'q2', 'q3']) store.create(id, request(), `/a/${id}`);
    assert.deepEqual(store.queued().map((j) => j.id), ['q1', 'q2', 'q3']);
    assert.deepEqual(['q1', 'q2', 'q3'].map((id) => store.position(id)), [1, 2, 3]);
    store.markRunning('q1', 1);
    assert.equal(store.position('q1'), null);
    assert.equal(store.position('q3'), 2);
    assert.deepEqual(store.queued().map((j) => j.id), ['q2', 'q3']);
  });

  withStore('running, requeued and running again keeps the attempts and the first start', (store) => {
    store.create('r', request(), '/a/r');
    store.markRunning('r', 1);
    const first = store.get('r')!;
    assert.equal(first.status, 'running');
    assert.ok(first.started_at);
    assert.deepEqual(store.interrupted().map((j) => j.id), ['r']);
    store.requeue('r');
    assert.equal(store.get('r')!.status, 'queued');
    store.markRunning('r', 2);
    assert.deepEqual([store.get('r')!.attempts, store.get('r')!.started_at], [2, first.started_at]);
  });

  withStore('events are numbered per job from 1 and read after a given one', (store) => {
    store.create('e', request(), '/a/e');
    store.create('f', request(), '/a/f');
    const seqs = [
      store.appendEvent('e', { type: 'started', worker: 'w:1', attempt: 1 }),
      store.appendEvent('e', { type: 'segment', segment: result.segments[0]! }),
      store.appendEvent('f', { type: 'started', worker: 'w:1', attempt: 1 }),
      store.appendEvent('e', { type: 'done', result }),
    ];
    assert.deepEqual(seqs, [1, 2, 1, 3]);
    assert.deepEqual(store.events('e', 1).map((e) => [e.seq, e.event.type]), [[2, 'segment'], [3, 'done']]);
    assert.deepEqual(store.events('e', 3), []);
    assert.deepEqual(store.events('e', 0)[1]!.event, { type: 'segment', segment: result.segments[0] });
  });

  withStore('progress, then the outcome; finishing forgets the audio path', (store) => {
    store.create('p', request(), '/a/p');
    store.markRunning('p', 1);
    store.noteProgress('p', { language: 'en', duration: 10 });
    store.noteProgress('p', { processed: 4 });
    assert.deepEqual([store.get('p')!.language, store.get('p')!.duration, store.get('p')!.processed], ['en', 10, 4]);
    const done = store.finish('p', { status: 'succeeded', result });
    assert.deepEqual([done.status, done.audio_path, done.error], ['succeeded', null, null]);
    assert.deepEqual(done.result, result);
    assert.ok(done.finished_at! >= done.started_at!);
    store.create('x', request(), '/a/x');
    const failed = store.finish('x', { status: 'failed', error: { code: 'undecodable_audio', message: 'not audio' } });
    assert.deepEqual([failed.status, failed.error, failed.result], ['failed', { code: 'undecodable_audio', message: 'not audio' }, null]);
    store.recordWebhook('x', { attempts: 1, delivered: true, last_status: 200, last_error: null, delivered_at: '2026-11-25T00:00:00.000Z' });
    assert.equal(store.get('x')!.webhook!.last_status, 200);
  });

  withStore('lists newest first, by status, a page at a time', (store) => {
    for (let i = 0; i < 5; i++) store.create(`l${i}`, request(i), `/a/l${i}`);
    store.finish('l1', { status: 'cancelled', error: { code: 'cancelled', message: 'by request' } });
    store.finish('l3', { status: 'cancelled', error: { code: 'cancelled', message: 'by request' } });
    const first = store.list({ limit: 2 });
    assert.deepEqual(first.jobs.map((j) => j.id).slice(0, 2), ['l4', 'l3']);
    const ids: string[] = [];
    for (let page = store.list({ limit: 2 }); ; page = store.list({ limit: 2, cursor: page.next_cursor! })) {
      ids.push(...page.jobs.map((j) => j.id));
      if (!page.next_cursor) break;
    }
    assert.deepEqual(ids.filter((id) => id.startsWith('l')), ['l4', 'l3', 'l2', 'l1', 'l0']);
    assert.deepEqual(store.list({ limit: 10, status: 'cancelled' }).jobs.map((j) => j.id).filter((id) => id.startsWith('l')), ['l3', 'l1']);
  });

  withStore('jobs belong to their owner: listed and counted by owner', (store) => {
    store.create('mine', { ...request(), owner: 'alice' }, '/a/mine');
    store.create('theirs', { ...request(), owner: 'bob' }, '/a/theirs');
    store.create('open', request(), '/a/open');
    assert.deepEqual(store.list({ limit: 10, owner: 'alice' }).jobs.map((j) => j.id), ['mine']);
    assert.deepEqual(store.list({ limit: 10, owner: null }).jobs.map((j) => j.id), ['open']);
    assert.equal(store.list({ limit: 10 }).jobs.length, 3);
    assert.equal(store.get('mine')!.request.owner, 'alice');
    assert.deepEqual([store.activeCount('alice'), store.activeCount('bob'), store.activeCount(null)], [1, 1, 1]);
    store.finish('mine', { status: 'succeeded', result });
    assert.equal(store.activeCount('alice'), 0);
  });

  withStore('expired finished jobs are found by age; delete removes a job and its events', (store) => {
    store.create('old', request(), '/a/old');
    store.appendEvent('old', { type: 'started', worker: 'w:1', attempt: 1 });
    store.finish('old', { status: 'succeeded', result });
    store.create('live', request(), '/a/live');
    assert.ok(store.expired(Date.now() + 1000).some((j) => j.id === 'old'));
    assert.ok(!store.expired(Date.now() + 1000).some((j) => j.id === 'live'));
    assert.ok(!store.expired(Date.now() - 60_000).some((j) => j.id === 'old'));
    store.delete('old');
    assert.equal(store.get('old'), null);
    assert.deepEqual(store.events('old', 0), []);
  });

  test(`${name}: everything survives a reopen`, () => {
    const open = storage();
    const before = open();
    before.create('durable', request(), '/a/durable');
    before.markRunning('durable', 1);
    before.appendEvent('durable', { type: 'started', worker: 'w:1', attempt: 1 });
    before.close();
    const after = open();
    try {
      assert.equal(after.get('durable')!.status, 'running');
      assert.ok(after.interrupted().some((j) => j.id === 'durable'));
      assert.equal(after.events('durable', 0).length, 1);
    } finally {
      after.close();
    }
  });
}
