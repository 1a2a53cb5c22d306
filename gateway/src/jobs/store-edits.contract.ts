// The store contract's edits of a finished job (store.contract.ts runs it): speakers renamed
// (PATCH /api/jobs/{id}) and the transcript's revisions (PUT /api/jobs/{id}/transcript).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEPT_EDITS } from './store.ts';
import type { TranscriptionResult } from '../protocol/messages.ts';
import { cancelled, request, result, storeTest, type Storage } from './store-contract.kit.ts';

export function editsContract(name: string, storage: Storage): void {
  const withStore = storeTest(name, storage);

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
}
