// The contract every job store passes (SQLite and Redis): run it with
// storeContract('name', storage), where storage() makes empty storage and
// returns how to open it; each open() opens that same storage, so that what
// survives a restart is tested too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEPT_EDITS, type JobRequest, type JobStore } from './store.ts';
import type { TranscriptionResult } from '../protocol/messages.ts';

const request = (n = 0): JobRequest => ({
  model: 'base', options: { language: null, task: 'transcribe' }, filename: `talk-${n}.wav`, audio_bytes: 100 + n, callback_url: null, source: 'jobs',
});
const result: TranscriptionResult = {
  text: 'Hello.', language: 'en', language_probability: 0.9, duration: 1, task: 'transcribe', model: 'base',
  segments: [{ id: 0, seek: 0, start: 0, end: 1, text: ' Hello.', tokens: [1], temperature: 0, avg_logprob: -0.1, compression_ratio: 1, no_speech_prob: 0 }],
  timing: { queued_seconds: 0, load_seconds: 0, decode_seconds: 0.1 },
};
const cancelled = { status: 'cancelled', error: { code: 'cancelled', message: 'by request' } } as const;

export type Storage = () => () => JobStore | Promise<JobStore>;

export function storeContract(name: string, storage: Storage): void {
  const withStore = (title: string, body: (store: JobStore) => Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const store = await storage()();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });
  const ids = async (jobs: Promise<Array<{ id: string }>>) => (await jobs).map((j) => j.id);

  withStore('a new job is queued with its request and audio', async (store) => {
    const job = await store.create('a', request(), '/data/audio/a');
    assert.equal(job.status, 'queued');
    assert.deepEqual(job.request, request());
    assert.equal(job.audio_path, '/data/audio/a');
    assert.equal(job.attempts, 0);
    assert.ok(Math.abs(job.created_at - Date.now()) < 5000);
    assert.deepEqual(await store.get('a'), job);
    assert.equal(await store.get('nope'), null);
  });

  withStore('queued jobs come out oldest first, with their positions', async (store) => {
    for (const id of ['q1', 'q2', 'q3']) await store.create(id, request(), `/a/${id}`);
    assert.deepEqual(await ids(store.queued()), ['q1', 'q2', 'q3']);
    assert.deepEqual(await Promise.all(['q1', 'q2', 'q3'].map((id) => store.position(id))), [1, 2, 3]);
    await store.markRunning('q1', 1);
    assert.equal(await store.position('q1'), null);
    assert.equal(await store.position('q3'), 2);
    assert.equal(await store.position('nope'), null);
    assert.deepEqual(await ids(store.queued()), ['q2', 'q3']);
  });

  withStore('running, requeued and running again keeps the attempts and the first start', async (store) => {
    await store.create('r', request(), '/a/r');
    await store.markRunning('r', 1);
    const first = (await store.get('r'))!;
    assert.equal(first.status, 'running');
    assert.ok(first.started_at);
    assert.deepEqual(await ids(store.interrupted()), ['r']);
    await store.requeue('r');
    assert.equal((await store.get('r'))!.status, 'queued');
    assert.equal(await store.position('r'), 1, 'back in line where it was');
    await store.markRunning('r', 2);
    const again = (await store.get('r'))!;
    assert.deepEqual([again.attempts, again.started_at], [2, first.started_at]);
  });

  withStore('events are numbered per job from 1 and read after a given one', async (store) => {
    await store.create('e', request(), '/a/e');
    await store.create('f', request(), '/a/f');
    const seqs = [
      await store.appendEvent('e', { type: 'started', worker: 'w:1', attempt: 1 }),
      await store.appendEvent('e', { type: 'segment', segment: result.segments[0]! }),
      await store.appendEvent('f', { type: 'started', worker: 'w:1', attempt: 1 }),
      await store.appendEvent('e', { type: 'done', result }),
    ];
    assert.deepEqual(seqs, [1, 2, 1, 3]);
    assert.deepEqual((await store.events('e', 1)).map((e) => [e.seq, e.event.type]), [[2, 'segment'], [3, 'done']]);
    assert.deepEqual(await store.events('e', 3), []);
    assert.deepEqual((await store.events('e', 0))[1]!.event, { type: 'segment', segment: result.segments[0] });
  });

  withStore('an append sent twice (a resend after a dropped connection) is stored once, with its number', async (store) => {
    await store.create('r', request(), '/a/r');
    const done = { type: 'done', result } as const;
    assert.equal(await store.appendEvent('r', { type: 'started', worker: 'w:1', attempt: 1 }), 1);
    assert.equal(await store.appendEvent('r', done), 2);
    assert.equal(await store.appendEvent('r', done), 2, 'the same as the last: not appended again');
    assert.deepEqual((await store.events('r', 0)).map((e) => e.event.type), ['started', 'done']);
    assert.equal(await store.appendEvent('r', { type: 'started', worker: 'w:1', attempt: 2 }), 3, 'a different event is');
  });

  withStore('progress, then the outcome; finishing forgets the audio path', async (store) => {
    await store.create('p', request(), '/a/p');
    await store.markRunning('p', 1);
    await store.noteProgress('p', { language: 'en', duration: 10 });
    await store.noteProgress('p', { processed: 4 });
    const p = (await store.get('p'))!;
    assert.deepEqual([p.language, p.duration, p.processed], ['en', 10, 4]);
    const done = (await store.finish('p', { status: 'succeeded', result }))!;
    assert.deepEqual([done.status, done.audio_path, done.error], ['succeeded', null, null]);
    assert.deepEqual(done.result, result);
    assert.ok(done.finished_at! >= done.started_at!);
    await store.create('x', request(), '/a/x');
    const failed = (await store.finish('x', { status: 'failed', error: { code: 'undecodable_audio', message: 'not audio' } }))!;
    assert.deepEqual([failed.status, failed.error, failed.result], ['failed', { code: 'undecodable_audio', message: 'not audio' }, null]);
    await store.recordWebhook('x', { attempts: 1, delivered: true, last_status: 200, last_error: null, delivered_at: '2026-11-25T00:00:00.000Z' }, true);
    assert.equal((await store.get('x'))!.webhook!.last_status, 200);
  });

  withStore('a job finished with a callback_url has a pending webhook until a delivery is final', async (store) => {
    const hooked = { ...request(), callback_url: 'http://hooks.example/done' };
    await store.create('h1', hooked, '/a/h1');
    await store.create('h2', hooked, '/a/h2');
    await store.create('plain', request(), '/a/plain');
    assert.deepEqual(await ids(store.pendingWebhooks()), [], 'nothing pends before the job finishes');
    await store.finish('h1', { status: 'succeeded', result });
    await store.finish('h2', cancelled);
    await store.finish('plain', { status: 'succeeded', result });
    assert.deepEqual(await ids(store.pendingWebhooks()), ['h1', 'h2']);
    await store.recordWebhook('h1', { attempts: 1, delivered: false, last_status: 500, last_error: 'HTTP 500', delivered_at: null }, false);
    assert.deepEqual(await ids(store.pendingWebhooks()), ['h1', 'h2'], 'an attempt that failed: still pending');
    assert.equal((await store.pendingWebhooks())[0]!.webhook!.attempts, 1, 'with the attempts so far');
    await store.recordWebhook('h1', { attempts: 2, delivered: true, last_status: 200, last_error: null, delivered_at: '2026-11-25T00:00:00.000Z' }, true);
    assert.deepEqual(await ids(store.pendingWebhooks()), ['h2']);
    await store.delete('h2');
    assert.deepEqual(await ids(store.pendingWebhooks()), []);
  });

  withStore('the first outcome stands: a finished job is not finished again, run or requeued', async (store) => {
    await store.create('once', request(), '/a/once');
    await store.markRunning('once', 1);
    await store.finish('once', { status: 'succeeded', result });
    assert.equal(await store.finish('once', cancelled), null, 'null: this call finished nothing');
    const kept = (await store.get('once'))!;
    assert.deepEqual([kept.status, kept.result], ['succeeded', result]);
    assert.equal(await store.finish('nope', cancelled), null, 'nor does it make a job that is not there');
    assert.equal(await store.get('nope'), null);
    await store.markRunning('once', 2);
    await store.requeue('once');
    const after = (await store.get('once'))!;
    assert.deepEqual([after.status, after.attempts], ['succeeded', 1]);
    assert.deepEqual(await ids(store.queued()), []);
    assert.deepEqual(await ids(store.interrupted()), []);
  });

  withStore('lists newest first, by status, a page at a time', async (store) => {
    for (let i = 0; i < 5; i++) await store.create(`l${i}`, request(i), `/a/l${i}`);
    await store.finish('l1', cancelled);
    await store.finish('l3', cancelled);
    const first = await store.list({ limit: 2 });
    assert.deepEqual(first.jobs.map((j) => j.id), ['l4', 'l3']);
    const seen: string[] = [];
    for (let page = first; ; page = await store.list({ limit: 2, cursor: page.next_cursor! })) {
      seen.push(...page.jobs.map((j) => j.id));
      if (!page.next_cursor) break;
    }
    assert.deepEqual(seen, ['l4', 'l3', 'l2', 'l1', 'l0']);
    assert.deepEqual((await store.list({ limit: 10, status: 'cancelled' })).jobs.map((j) => j.id), ['l3', 'l1']);
    const byStatus = await store.list({ limit: 1, status: 'queued' });
    assert.deepEqual(byStatus.jobs.map((j) => j.id), ['l4']);
    assert.deepEqual((await store.list({ limit: 5, status: 'queued', cursor: byStatus.next_cursor! })).jobs.map((j) => j.id), ['l2', 'l0']);
  });

  withStore('jobs belong to their owner: listed and counted by owner', async (store) => {
    await store.create('mine', { ...request(), owner: 'alice' }, '/a/mine');
    await store.create('theirs', { ...request(), owner: 'bob' }, '/a/theirs');
    await store.create('open', request(), '/a/open');
    assert.deepEqual((await store.list({ limit: 10, owner: 'alice' })).jobs.map((j) => j.id), ['mine']);
    assert.deepEqual((await store.list({ limit: 10, owner: null })).jobs.map((j) => j.id), ['open']);
    assert.deepEqual((await store.list({ limit: 10, owner: 'alice', status: 'succeeded' })).jobs, []);
    assert.equal((await store.list({ limit: 10 })).jobs.length, 3);
    assert.equal((await store.get('mine'))!.request.owner, 'alice');
    assert.deepEqual(await Promise.all(['alice', 'bob', null].map((o) => store.activeCount(o))), [1, 1, 1]);
    await store.finish('mine', { status: 'succeeded', result });
    assert.equal(await store.activeCount('alice'), 0);
  });

  withStore('expired finished jobs are found by age; delete removes a job and its events', async (store) => {
    await store.create('old', request(), '/a/old');
    await store.appendEvent('old', { type: 'started', worker: 'w:1', attempt: 1 });
    await store.finish('old', { status: 'succeeded', result });
    await store.create('live', request(), '/a/live');
    assert.deepEqual(await ids(store.expired(Date.now() + 1000)), ['old']);
    assert.deepEqual(await ids(store.expired(Date.now() - 60_000)), []);
    await store.delete('old');
    assert.equal(await store.get('old'), null);
    assert.deepEqual(await store.events('old', 0), []);
    assert.deepEqual((await store.list({ limit: 10 })).jobs.map((j) => j.id), ['live']);
    assert.deepEqual(await ids(store.expired(Date.now() + 1000)), []);
  });

  withStore('a job stored finished already (a realtime session) is listed and expires like any other, and never runs', async (store) => {
    await store.create('before', request(), '/a/before');
    const startedAt = Date.now() - 60_000;
    const live = { ...request(), source: 'realtime' as const, owner: 'alice', filename: 'realtime session', audio_bytes: 0 };
    const stored = await store.insertFinished('rt', live, { status: 'succeeded', result }, startedAt);
    assert.deepEqual([stored.status, stored.created_at, stored.started_at, stored.audio_path, stored.attempts], ['succeeded', startedAt, startedAt, null, 1]);
    assert.ok(stored.finished_at! >= startedAt);
    assert.deepEqual([stored.language, stored.duration, stored.error], ['en', 1, null]);
    assert.deepEqual(stored.result, result);
    assert.deepEqual(stored.request, live);
    assert.deepEqual(await store.get('rt'), stored);
    assert.deepEqual((await store.list({ limit: 10 })).jobs.map((j) => j.id), ['rt', 'before'], 'newest first: after what was there');
    assert.deepEqual((await store.list({ limit: 10, owner: 'alice', status: 'succeeded' })).jobs.map((j) => j.id), ['rt']);
    assert.deepEqual(await ids(store.queued()), ['before']);
    assert.deepEqual(await ids(store.interrupted()), []);
    assert.equal(await store.activeCount('alice'), 0);
    assert.equal(await store.finish('rt', cancelled), null, 'its outcome stands');
    assert.deepEqual(await ids(store.expired(Date.now() + 1000)), ['rt']);
    const failed = await store.insertFinished('rt2', live, { status: 'failed', error: { code: 'worker_lost', message: 'gone' } }, startedAt);
    assert.deepEqual([failed.status, failed.result, failed.error], ['failed', null, { code: 'worker_lost', message: 'gone' }]);
  });

  // A diarized result: speakers, and their ids on segments and words.
  const diarized: TranscriptionResult = {
    ...result,
    segments: [
      { ...result.segments[0]!, speaker: 'A', words: [{ start: 0, end: 0.5, word: ' Hello.', probability: 0.9, speaker: 'A' }] },
      { ...result.segments[0]!, id: 1, start: 1, end: 2, speaker: 'B' },
      { ...result.segments[0]!, id: 2, start: 2, end: 3, text: '', tokens: [], speaker: null },
    ],
    speakers: [{ id: 'A', name: 'A', seconds: 0.123456789012345 }, { id: 'B', name: 'Bob', seconds: 1 }],
  };
  const names = (job: { result: TranscriptionResult | null } | null) => job?.result?.speakers?.map((s) => [s.id, s.name]);

  withStore('renaming speakers changes their names in the stored result, and nothing else', async (store) => {
    await store.create('d', request(), '/a/d');
    await store.markRunning('d', 1);
    const done = (await store.finish('d', { status: 'succeeded', result: diarized }))!;
    const renamed = (await store.renameSpeakers('d', { A: 'Host' }))!;
    assert.deepEqual(names(renamed), [['A', 'Host'], ['B', 'Bob']]);
    assert.deepEqual(renamed, { ...done, result: { ...diarized, speakers: [{ ...diarized.speakers![0]!, name: 'Host' }, diarized.speakers![1]!] } });
    assert.deepEqual(await store.get('d'), renamed);
    const again = (await store.renameSpeakers('d', { B: 'Guest', Z: 'nobody' }))!;
    assert.deepEqual(names(again), [['A', 'Host'], ['B', 'Guest']], 'a later rename keeps the earlier names; an id that is no speaker is ignored');
    assert.deepEqual(again.result!.segments, diarized.segments, 'segments and words keep their speaker ids');
    assert.equal(again.result!.speakers![0]!.seconds, 0.123456789012345);
    assert.deepEqual(await store.events('d', 0), [], 'no event is added');
  });

  withStore('renaming speakers: renames at once all stand (none is lost)', async (store) => {
    const many = { ...diarized, speakers: ['A', 'B', 'C', 'D', 'E'].map((id) => ({ id, name: id, seconds: 1 })) };
    await store.insertFinished('m', request(), { status: 'succeeded', result: many }, Date.now());
    await Promise.all(['A', 'B', 'C', 'D', 'E'].map((id) => store.renameSpeakers('m', { [id]: `${id}-renamed` })));
    assert.deepEqual(names(await store.get('m')), ['A', 'B', 'C', 'D', 'E'].map((id) => [id, `${id}-renamed`]));
  });

  withStore('renaming speakers: null for a job that has no result, or is not there; a result with no speakers is left as it is', async (store) => {
    await store.create('q', request(), '/a/q');
    assert.equal(await store.renameSpeakers('q', { A: 'Host' }), null, 'queued');
    await store.markRunning('q', 1);
    assert.equal(await store.renameSpeakers('q', { A: 'Host' }), null, 'running');
    assert.equal((await store.get('q'))!.status, 'running', 'and left as it was');
    await store.finish('q', cancelled);
    const ended = await store.get('q');
    assert.equal(await store.renameSpeakers('q', { A: 'Host' }), null, 'cancelled');
    assert.deepEqual(await store.get('q'), ended);
    assert.equal(await store.renameSpeakers('nope', { A: 'Host' }), null);
    assert.equal(await store.get('nope'), null, 'a rename makes no job');
    await store.create('plain', request(), '/a/plain');
    const plain = (await store.finish('plain', { status: 'succeeded', result }))!;
    assert.deepEqual(await store.renameSpeakers('plain', { A: 'Host' }), plain);
  });

  // ——— Revisions of a transcript (PUT /api/jobs/{id}/transcript).

  const edited = (text: string): TranscriptionResult => ({ ...result, text, segments: [{ ...result.segments[0]!, text: ` ${text}` }] });

  withStore('revising a transcript stores it as the result and as the next revision; the original stays', async (store) => {
    await store.create('e', request(), '/a/e');
    await store.markRunning('e', 1);
    const done = (await store.finish('e', { status: 'succeeded', result }))!;
    assert.deepEqual(await store.transcriptRevisions('e'), [{ revision: 0, created_at: done.finished_at, result }], 'never edited: the original only');
    const first = await store.reviseTranscript('e', 0, (revisions) => {
      assert.deepEqual(revisions.map((r) => r.revision), [0]);
      return edited('Hallo.');
    });
    assert.ok(first && 'job' in first);
    assert.equal(first.revision.revision, 1);
    assert.deepEqual(first.revision.result, edited('Hallo.'));
    assert.deepEqual(first.job, { ...done, result: edited('Hallo.') }, 'the record\'s result is the revision, nothing else changed');
    assert.deepEqual(await store.get('e'), first.job);
    const second = (await store.reviseTranscript('e', undefined, () => edited('Hello there.')))!;
    assert.ok('job' in second);
    assert.equal(second.revision.revision, 2, 'no base: stored after whatever is current');
    const revisions = (await store.transcriptRevisions('e'))!;
    assert.deepEqual(revisions.map((r) => [r.revision, r.result.text]), [[0, 'Hello.'], [1, 'Hallo.'], [2, 'Hello there.']]);
    assert.equal(revisions[0]!.created_at, done.finished_at);
    assert.ok(revisions[2]!.created_at >= revisions[1]!.created_at);
    assert.deepEqual(await store.events('e', 0), [], 'no event is added');
  });

  withStore('revising a transcript: a stale base revision writes nothing and says which is current', async (store) => {
    await store.insertFinished('s', request(), { status: 'succeeded', result }, Date.now());
    await store.reviseTranscript('s', 0, () => edited('One.'));
    const before = await store.get('s');
    let made = 0;
    assert.deepEqual(await store.reviseTranscript('s', 0, () => (made++, edited('Two.'))), { stale: 1 });
    assert.equal(made, 0, 'nothing was made');
    assert.deepEqual(await store.get('s'), before);
    assert.equal((await store.transcriptRevisions('s'))!.length, 2);
  });

  withStore('revising a transcript: a restore is a new revision made from an older one', async (store) => {
    await store.insertFinished('r', request(), { status: 'succeeded', result }, Date.now());
    await store.reviseTranscript('r', 0, () => edited('Edited.'));
    const restored = (await store.reviseTranscript('r', 1, (revisions) => revisions[0]!.result))!;
    assert.ok('job' in restored);
    assert.equal(restored.revision.revision, 2);
    assert.deepEqual(restored.job.result, result);
    assert.deepEqual((await store.transcriptRevisions('r'))!.map((r) => r.result.text), ['Hello.', 'Edited.', 'Hello.']);
  });

  withStore(`revising a transcript: the original and the last ${KEPT_EDITS} edits are kept, the older edits go`, async (store) => {
    await store.insertFinished('k', request(), { status: 'succeeded', result }, Date.now());
    for (let n = 1; n <= KEPT_EDITS + 3; n++) await store.reviseTranscript('k', n - 1, () => edited(`Take ${n}.`));
    const revisions = (await store.transcriptRevisions('k'))!;
    assert.deepEqual(revisions.map((r) => r.revision), [0, ...Array.from({ length: KEPT_EDITS }, (_, i) => i + 4)]);
    assert.deepEqual([revisions[0]!.result.text, revisions.at(-1)!.result.text], ['Hello.', `Take ${KEPT_EDITS + 3}.`]);
    const next = (await store.reviseTranscript('k', KEPT_EDITS + 3, (kept) => kept[0]!.result))!;
    assert.ok('job' in next);
    assert.equal(next.revision.revision, KEPT_EDITS + 4, 'numbers go on from the last, not from how many are kept');
    assert.deepEqual(next.job.result, result);
  });

  withStore('revising a transcript: edits at once all stand, each its own revision', async (store) => {
    await store.insertFinished('m', request(), { status: 'succeeded', result }, Date.now());
    await Promise.all([1, 2, 3, 4].map((n) => store.reviseTranscript('m', undefined, () => edited(`Take ${n}.`))));
    const revisions = (await store.transcriptRevisions('m'))!;
    assert.deepEqual(revisions.map((r) => r.revision), [0, 1, 2, 3, 4]);
    assert.deepEqual(new Set(revisions.slice(1).map((r) => r.result.text)), new Set(['Take 1.', 'Take 2.', 'Take 3.', 'Take 4.']));
    assert.equal((await store.get('m'))!.result!.text, revisions[4]!.result.text);
  });

  withStore('revising a transcript: null for a job that has no result, or is not there; what make throws is thrown, nothing written', async (store) => {
    await store.create('q', request(), '/a/q');
    assert.equal(await store.transcriptRevisions('q'), null);
    assert.equal(await store.reviseTranscript('q', undefined, () => edited('x')), null, 'queued');
    await store.finish('q', cancelled);
    assert.equal(await store.reviseTranscript('q', undefined, () => edited('x')), null, 'cancelled');
    assert.equal(await store.reviseTranscript('nope', undefined, () => edited('x')), null);
    assert.equal(await store.get('nope'), null);
    await store.insertFinished('t', request(), { status: 'succeeded', result }, Date.now());
    await assert.rejects(store.reviseTranscript('t', 0, () => { throw new Error('no such revision'); }), /no such revision/);
    assert.deepEqual((await store.get('t'))!.result, result);
    assert.equal((await store.transcriptRevisions('t'))!.length, 1);
    assert.ok('job' in (await store.reviseTranscript('t', 0, () => edited('Fine.')))!, 'the store is still usable');
  });

  withStore('revising a transcript: search finds the revision\'s words, not the replaced ones', async (store) => {
    await store.insertFinished('f', request(), { status: 'succeeded', result }, Date.now());
    await store.reviseTranscript('f', 0, () => edited('Dashwoodz spoke.'));
    assert.deepEqual((await store.search({ q: 'dashwoodz', limit: 10 })).jobs.map((h) => h.job.id), ['f']);
    assert.deepEqual((await store.search({ q: 'hello', limit: 10 })).jobs.map((h) => h.job.id), []);
  });

  // ——— Search (GET /api/jobs?q=…) and the list's filters.

  /** A result whose segments are these texts, a second each. */
  const spoken = (...texts: string[]): TranscriptionResult => ({
    ...result,
    text: texts.join(''),
    segments: texts.map((text, id) => ({ ...result.segments[0]!, id, start: id * 2, end: id * 2 + 1.5, text })),
  });
  const said = async (store: JobStore, id: string, texts: string[], extra: Partial<JobRequest> = {}) => {
    await store.create(id, { ...request(), filename: `${id}.wav`, ...extra }, `/a/${id}`);
    return store.finish(id, { status: 'succeeded', result: spoken(...texts) });
  };
  const found = async (store: JobStore, q: string, more: Partial<Parameters<JobStore['search']>[0]> = {}) =>
    (await store.search({ q, limit: 10, ...more })).jobs.map((hit) => hit.job.id);

  withStore('search: a word of a transcript finds its job, with the segments that hold it and their times', async (store) => {
    await said(store, 'ship', [' We sailed at dawn.', ' The ship was old.', ' Nobody spoke of the ship again.']);
    await said(store, 'garden', [' The garden was quiet.']);
    await store.create('waiting', request(), '/a/waiting');
    const { jobs, next_cursor } = await store.search({ q: 'ship', limit: 10 });
    assert.deepEqual(jobs.map((hit) => hit.job.id), ['ship']);
    assert.equal(next_cursor, null);
    assert.deepEqual(jobs[0]!.matches, [
      { segment_id: 1, start: 2, end: 3.5, text: 'The ship was old.' },
      { segment_id: 2, start: 4, end: 5.5, text: 'Nobody spoke of the ship again.' },
    ]);
    assert.deepEqual(jobs[0]!.job, await store.get('ship'), 'the whole job');
    assert.deepEqual(await found(store, 'SHIP.'), ['ship'], 'case and punctuation do not matter');
    assert.deepEqual(await found(store, 'garden quiet'), ['garden'], 'every word');
    assert.deepEqual(await found(store, 'garden ship'), [], 'every word, in one job');
    assert.deepEqual(await found(store, 'gard'), ['garden'], 'the last word as the start of a word too');
    assert.deepEqual(await found(store, 'gard quiet'), [], 'only the last');
    assert.deepEqual(await found(store, 'submarine'), []);
    assert.deepEqual(await found(store, '?!'), [], 'no words: nothing');
  });

  withStore('search: a file name matches too (a job not finished yet by its name alone)', async (store) => {
    await said(store, 'plain', [' Weather report for today.']);
    await store.create('named', { ...request(), filename: 'Board-Meeting_2026.wav' }, '/a/named');
    const hits = (await store.search({ q: 'meeting', limit: 10 })).jobs;
    assert.deepEqual(hits.map((h) => [h.job.id, h.matches]), [['named', []]]);
    assert.deepEqual(await found(store, 'board 2026'), ['named']);
    assert.deepEqual(await found(store, 'weather plain'), ['plain'], 'words of the name and of the transcript together');
  });

  withStore('search: the better match ranks first; diacritics fold; a page at a time', async (store) => {
    await said(store, 'once', [' Marianne walked to the village with her sister and their mother on a fine morning in spring.']);
    await said(store, 'often', [' Marianne!', ' Marianne, Marianne.']);
    await said(store, 'other', [' Nothing to see here.']);
    await said(store, 'cafe', [' Le café était fermé.']);
    assert.deepEqual(await found(store, 'marianne'), ['often', 'once']);
    assert.deepEqual(await found(store, 'CAFE etait'), ['cafe']);
    const first = await store.search({ q: 'marianne', limit: 1 });
    assert.deepEqual(first.jobs.map((h) => h.job.id), ['often']);
    assert.ok(first.next_cursor);
    const second = await store.search({ q: 'marianne', limit: 1, cursor: first.next_cursor! });
    assert.deepEqual([second.jobs.map((h) => h.job.id), second.next_cursor], [['once'], null]);
    assert.deepEqual((await store.search({ q: 'marianne', limit: 1, cursor: 'bm90IGEgY3Vyc29y' })).jobs, [], 'a cursor no search gave: nothing');
  });

  withStore('search: at most a few matching segments, those with the most words of the query', async (store) => {
    await said(store, 'long', [' red', ' red', ' red', ' red fox', ' red', ' red fox']);
    const [hit] = (await store.search({ q: 'red fox', limit: 10 })).jobs;
    assert.deepEqual(hit!.matches.map((m) => m.segment_id), [0, 3, 5], 'both words first, then the earliest; in time order');
  });

  withStore('search: only the owner\'s jobs; with the list\'s filters', async (store) => {
    await said(store, 'alice-1', [' The lighthouse keeper.'], { owner: 'alice', model: 'small' });
    await said(store, 'bob-1', [' The lighthouse keeper.'], { owner: 'bob' });
    await said(store, 'open-1', [' The lighthouse keeper.']);
    assert.deepEqual(await found(store, 'lighthouse', { owner: 'alice' }), ['alice-1']);
    assert.deepEqual(await found(store, 'lighthouse', { owner: null }), ['open-1']);
    assert.deepEqual((await found(store, 'lighthouse')).sort(), ['alice-1', 'bob-1', 'open-1'], 'no owner given: everyone\'s');
    assert.deepEqual(await found(store, 'lighthouse', { model: 'small' }), ['alice-1']);
    assert.deepEqual(await found(store, 'lighthouse', { owner: 'bob', status: 'failed' }), []);
    assert.deepEqual(await found(store, 'lighthouse', { owner: 'bob', status: 'succeeded' }), ['bob-1']);
    assert.deepEqual(await found(store, 'lighthouse', { owner: 'bob', until: Date.now() - 60_000 }), []);
    assert.deepEqual(await found(store, 'lighthouse', { owner: 'bob', since: Date.now() - 60_000 }), ['bob-1']);
  });

  withStore('search: a query that looks like FTS syntax is words, never an error', async (store) => {
    await said(store, 'syntax', [' A near miss, or b stars.']);
    for (const q of ['"a" OR b*', 'NEAR(', 'near(a b', '"', '*', 'a AND', 'NOT', '(', ')', 'col:a', '^a', 'a + b', "'", '-', 'a"b', '{filename}: x', '\\']) {
      await store.search({ q, limit: 10 }); // answers
    }
    assert.deepEqual(await found(store, '"a" OR b*'), ['syntax'], 'the words a, or and b');
    assert.deepEqual(await found(store, 'NEAR('), ['syntax']);
    assert.deepEqual(await found(store, 'filename: miss'), [], 'no column filter: filename is a word here');
  });

  withStore('search: a deleted job is not found; a job is still found after its speakers are renamed', async (store) => {
    await said(store, 'gone', [' Elinor and Edward.']);
    await said(store, 'kept', [' Elinor alone.']);
    await store.delete('gone');
    assert.deepEqual(await found(store, 'elinor'), ['kept']);
    assert.deepEqual(await found(store, 'edward'), []);
    await store.finish('kept', cancelled); // the first outcome stands: nothing changes
    assert.deepEqual(await found(store, 'alone'), ['kept']);
    await store.renameSpeakers('kept', { A: 'Host' });
    assert.deepEqual(await found(store, 'alone'), ['kept']);
    const failed = await store.insertFinished('failed', { ...request(), filename: 'elinor.wav' }, { status: 'failed', error: { code: 'x', message: 'y' } }, Date.now());
    assert.deepEqual(await found(store, 'elinor'), ['failed', 'kept'], 'a failed job by its name (a word of the name weighs more)');
    assert.equal(failed.status, 'failed');
  });

  test(`${name}: search finds what was stored before a reopen`, async () => {
    const open = storage();
    const before = await open();
    await said(before, 'durable', [' Norland Park.']);
    await before.close();
    const after = await open();
    try {
      assert.deepEqual(await found(after, 'norland'), ['durable']);
    } finally {
      await after.close();
    }
  });

  withStore('the list by model, and by time of creation (since: at or after, until: before)', async (store) => {
    await store.create('tiny', { ...request(), model: 'tiny' }, '/a/tiny');
    await store.create('base', request(), '/a/base');
    const started = Date.now() - 3_600_000;
    await store.insertFinished('old', { ...request(), model: 'tiny' }, { status: 'succeeded', result }, started); // created an hour ago
    const list = async (more: Partial<Parameters<JobStore['list']>[0]>) => (await store.list({ limit: 10, ...more })).jobs.map((j) => j.id);
    assert.deepEqual(await list({ model: 'tiny' }), ['old', 'tiny']);
    assert.deepEqual(await list({ model: 'tin' }), [], 'exactly');
    assert.deepEqual(await list({ since: started + 1 }), ['base', 'tiny']);
    assert.deepEqual(await list({ since: started }), ['old', 'base', 'tiny']);
    assert.deepEqual(await list({ until: started }), []);
    assert.deepEqual(await list({ until: started + 1 }), ['old']);
    assert.deepEqual(await list({ model: 'tiny', since: started + 1, status: 'queued' }), ['tiny']);
    const first = await store.list({ limit: 1, model: 'tiny' });
    assert.deepEqual(first.jobs.map((j) => j.id), ['old']);
    assert.deepEqual((await store.list({ limit: 1, model: 'tiny', cursor: first.next_cursor! })).jobs.map((j) => j.id), ['tiny']);
  });

  test(`${name}: renamed speakers survive a reopen`, async () => {
    const open = storage();
    const before = await open();
    await before.insertFinished('kept', request(), { status: 'succeeded', result: diarized }, Date.now());
    await before.renameSpeakers('kept', { A: 'Host', B: 'Guest' });
    await before.close();
    const after = await open();
    try {
      assert.deepEqual(names(await after.get('kept')), [['A', 'Host'], ['B', 'Guest']]);
    } finally {
      await after.close();
    }
  });

  test(`${name}: revisions survive a reopen`, async () => {
    const open = storage();
    const before = await open();
    await before.insertFinished('kept', request(), { status: 'succeeded', result }, Date.now());
    await before.reviseTranscript('kept', 0, () => edited('Kept.'));
    await before.close();
    const after = await open();
    try {
      assert.equal((await after.get('kept'))!.result!.text, 'Kept.');
      assert.deepEqual((await after.transcriptRevisions('kept'))!.map((r) => r.result.text), ['Hello.', 'Kept.']);
    } finally {
      await after.close();
    }
  });

  test(`${name}: everything survives a reopen`, async () => {
    const open = storage();
    const before = await open();
    await before.create('durable', request(), '/a/durable');
    await before.markRunning('durable', 1);
    await before.appendEvent('durable', { type: 'started', worker: 'w:1', attempt: 1 });
    await before.close();
    const after = await open();
    try {
      assert.equal((await after.get('durable'))!.status, 'running');
      assert.deepEqual(await ids(after.interrupted()), ['durable']);
      assert.equal((await after.events('durable', 0)).length, 1);
    } finally {
      await after.close();
    }
  });
}
