// Correcting a transcript (PUT /api/jobs/{id}/transcript, its revisions and
// restore) through app.inject() and the fake job system (real SQLite): what is
// stored, what every format then shows, and the errors, each naming its field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeDispatch } from '../../../test/fake-dispatch.ts';
import { waitFor } from '../../../../test-support/wait.ts';
import { injectable, multipart } from '../../../test/inject.ts';

type App = Awaited<ReturnType<typeof injectable>>;
const KEYS = { API_KEYS: 'alice:sk-alice-1,bob:sk-bob-2' };
const as = (key: string) => ({ authorization: `Bearer ${key}` });

async function finished(app: App, key = 'sk-alice-1'): Promise<string> {
  const form = await multipart({ word_timestamps: 'true' });
  const { id } = (await app.inject({ method: 'POST', url: '/api/jobs', payload: form.payload, headers: { ...form.headers, ...as(key) } })).json();
  await waitFor('the job to succeed', async () => (await app.inject({ url: `/api/jobs/${id}`, headers: as(key) })).json().status === 'succeeded');
  return id;
}
const put = (app: App, id: string, body: unknown, key = 'sk-alice-1') =>
  app.inject({ method: 'PUT', url: `/api/jobs/${id}/transcript`, headers: as(key), payload: body as object });

test('PUT /api/jobs/{id}/transcript stores a revision that the result, every format and search show; the original stays and can be restored', async () => {
  const app = await injectable(KEYS, fakeDispatch());
  try {
    const id = await finished(app);
    const original = (await app.inject({ url: `/api/jobs/${id}`, headers: as('sk-alice-1') })).json().result;
    assert.equal(original.text, 'And Mr. John Dashwood.');
    const listed = await app.inject({ url: `/api/jobs/${id}/transcript/revisions`, headers: as('sk-alice-1') });
    assert.equal(listed.statusCode, 200);
    assert.deepEqual(listed.json().revisions.map((r: { revision: number; segments: number }) => [r.revision, r.segments]), [[0, 1]]);

    const saved = await put(app, id, { segments: [{ start: 0, end: 2.5, text: 'And Mr. John Dashwoodz.' }], base_revision: 0 });
    assert.equal(saved.statusCode, 200, saved.body);
    assert.equal(saved.json().revision.revision, 1);
    assert.equal(saved.json().job.result.text, 'And Mr. John Dashwoodz.');
    for (const format of ['txt', 'srt', 'vtt', 'tsv', 'json', 'verbose_json', 'text']) {
      const out = await app.inject({ url: `/api/jobs/${id}/result?format=${format}`, headers: as('sk-alice-1') });
      if (out.statusCode === 400) continue; // a format this API does not have
      assert.match(out.body, /Dashwoodz/, format);
    }
    const found = await app.inject({ url: '/api/jobs?q=dashwoodz', headers: as('sk-alice-1') });
    assert.deepEqual(found.json().jobs.map((j: { id: string }) => j.id), [id], 'the search index has the revision');

    const stale = await put(app, id, { segments: [{ start: 0, end: 2.5, text: 'Another.' }], base_revision: 0 });
    assert.equal(stale.statusCode, 409);
    assert.deepEqual([stale.json().error.code, stale.json().error.param], ['revision_conflict', 'base_revision']);
    assert.match(stale.json().error.message, /revision 1 now, not 0/);

    const restored = await app.inject({ method: 'POST', url: `/api/jobs/${id}/transcript/restore`, headers: as('sk-alice-1'), payload: { revision: 0 } });
    assert.equal(restored.statusCode, 200, restored.body);
    assert.equal(restored.json().revision.revision, 2);
    assert.equal(restored.json().job.result.text, 'And Mr. John Dashwood.');
    const revisions = (await app.inject({ url: `/api/jobs/${id}/transcript/revisions`, headers: as('sk-alice-1') })).json();
    assert.deepEqual([revisions.current, revisions.revisions.map((r: { revision: number }) => r.revision)], [2, [0, 1, 2]]);
    const missing = await app.inject({ method: 'POST', url: `/api/jobs/${id}/transcript/restore`, headers: as('sk-alice-1'), payload: { revision: 7 } });
    assert.deepEqual([missing.statusCode, missing.json().error.param], [400, 'revision']);
    assert.match(missing.json().error.message, /no revision 7; it keeps 0, 1, 2 \(the original, and its last 20 edits\)/);

    const other = await put(app, id, { segments: [{ start: 0, end: 1, text: 'Mine.' }] }, 'sk-bob-2');
    assert.equal(other.statusCode, 404, 'another key\'s job is not there');
    assert.equal((await app.inject({ url: `/api/jobs/${id}/transcript/revisions`, headers: as('sk-bob-2') })).statusCode, 404);
    assert.equal((await put(app, 'nope', { segments: [] })).statusCode, 404);
  } finally {
    await app.close();
  }
});

test('PUT /api/jobs/{id}/transcript: 400 naming the field at fault, and nothing stored', async () => {
  const app = await injectable(KEYS, fakeDispatch());
  try {
    const id = await finished(app);
    const seg = (s: object) => ({ start: 0, end: 1, text: 'Hi.', ...s });
    const cases: Array<[unknown, string | null, RegExp]> = [
      [[], null, /must be a JSON object/],
      [{}, 'segments', /'segments' is required/],
      [{ segments: [], extra: 1 }, 'extra', /unknown field 'extra'/],
      [{ segments: [seg({ end: -1 })] }, 'segments[0].end', /0 or more/],
      [{ segments: [seg({ start: 2, end: 1 })] }, 'segments[0].end', /before its start/],
      [{ segments: [seg({ start: 1, end: 2 }), seg({ start: 0.5 })] }, 'segments[1].start', /time order/],
      [{ segments: [seg({ end: 99 })] }, 'segments[0].end', /past the end of the audio \(2.5 s\)/],
      [{ segments: [seg({ text: '   ' })] }, 'segments[0].text', /blank/],
      [{ segments: [seg({ text: 'x'.repeat(2001) })] }, 'segments[0].text', /at most 2000/],
      [{ segments: [seg({ speaker: 'A' })] }, 'segments[0].speaker', /without diarization/],
      [{ segments: [seg({ words: [{ word: ' Hi.', start: 1, end: 0.5 }] })] }, 'segments[0].words[0].end', /before its start/],
      [{ segments: [seg({ mood: 'happy' })] }, 'segments[0].mood', /unknown field/],
      [{ segments: Array.from({ length: 10_001 }, () => seg({})) }, 'segments', /at most 10000/],
      [{ segments: [], base_revision: -1 }, 'base_revision', /revision number/],
    ];
    for (const [body, param, message] of cases) {
      const response = await put(app, id, body);
      assert.equal(response.statusCode, 400, JSON.stringify(body).slice(0, 80));
      assert.deepEqual([response.json().error.code, response.json().error.param], ['invalid_parameter', param], JSON.stringify(body).slice(0, 80));
      assert.match(response.json().error.message, message);
    }
    const revisions = (await app.inject({ url: `/api/jobs/${id}/transcript/revisions`, headers: as('sk-alice-1') })).json();
    assert.equal(revisions.current, 0, 'nothing was stored');
  } finally {
    await app.close();
  }
});

test('PUT /api/jobs/{id}/transcript: 409 for a job that has not succeeded', async () => {
  const jobs = fakeDispatch(() => [{ type: 'started', worker: 'fake:1', attempt: 1 }]);
  const app = await injectable(KEYS, jobs);
  try {
    const form = await multipart();
    const { id } = (await app.inject({ method: 'POST', url: '/api/jobs', payload: form.payload, headers: { ...form.headers, ...as('sk-alice-1') } })).json();
    const response = await put(app, id, { segments: [{ start: 0, end: 1, text: 'Hi.' }] });
    assert.deepEqual([response.statusCode, response.json().error.code], [409, 'job_not_finished']);
    const list = await app.inject({ url: `/api/jobs/${id}/transcript/revisions`, headers: as('sk-alice-1') });
    assert.deepEqual([list.statusCode, list.json().error.code], [409, 'job_not_finished']);
  } finally {
    await app.close();
  }
});
