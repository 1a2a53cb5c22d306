// The contract every job store passes (SQLite and Redis): run it with
// storeContract('name', storage), where storage() makes empty storage and
// returns how to open it; each open() opens that same storage, so that what
// survives a restart is tested too. The jobs' life here; speaker renames and
// transcript revisions in store-edits.contract.ts, search and the list's
// filters in store-search.contract.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cancelled, ids, request, result, storeTest, type Storage } from './store-contract.kit.ts';
import { editsContract } from './store-edits.contract.ts';
import { searchContract } from './store-search.contract.ts';

export type { Storage } from './store-contract.kit.ts';

export function storeContract(name: string, storage: Storage): void {
  const withStore = storeTest(name, storage);

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
  editsContract(name, storage);
  searchContract(name, storage);
}
