// The store contract's search (GET /api/jobs?q=…) and the list's filters (store.contract.ts runs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobRequest, JobStore } from './store.ts';
import type { TranscriptionResult } from '../protocol/messages.ts';
import { cancelled, request, result, storeTest, type Storage } from './store-contract.kit.ts';

export function searchContract(name: string, storage: Storage): void {
  const withStore = storeTest(name, storage);

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
}
