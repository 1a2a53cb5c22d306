// Searching transcripts over real HTTP (GET /api/jobs?q=…), with a real worker
// transcribing a real clip, on both stores (SQLite, Redis), API keys on: the
// clip is found by a word it says, with where it says it; by its file name;
// never by another key; and a word it does not say finds nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { startWorker, CLIP, type RunningWorker } from '../../test-support/worker.ts';
import { startGateway, form } from '../../test-support/gateway.ts';
import { startRedis, type RedisServer } from '../../test-support/redis.ts';
import { waitFor } from '../../test-support/wait.ts';

const ALICE = { authorization: 'Bearer sk-search-alice-1' };
const BOB = { authorization: 'Bearer sk-search-bob-2' };
const KEYS = { API_KEYS: 'alice:sk-search-alice-1,bob:sk-search-bob-2' };
const CLIP_SECONDS = 7.5; // the clip is about 7 s: "… John Dashwood …"

let worker: RunningWorker;
let redis: RedisServer;

before(async () => {
  [worker, redis] = await Promise.all([startWorker({ WHISPER_SLOTS: '1' }), startRedis()]);
});
after(async () => {
  await worker?.stop();
  await redis?.stop();
});

const search = async (url: string, query: string, headers = ALICE) => {
  const response = await fetch(`${url}/api/jobs?${query}`, { headers });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as { jobs: Array<{ id: string; filename: string; matches?: Array<{ segment_id: number; start: number; end: number; text: string }> }>; next_cursor: string | null };
};

for (const [store, env] of [['sqlite', () => ({})], ['redis', () => ({ QUEUE_URL: redis.url, QUEUE_PREFIX: `search-${randomUUID().slice(0, 8)}` })]] as const) {
  test(`${store}: a transcribed clip is found by a word it says, with its time, by its owner only`, async () => {
    const g = await startGateway([worker.address], { ...KEYS, ...env() });
    try {
      const submitted = await fetch(`${g.url}/api/jobs`, { method: 'POST', headers: ALICE, body: form(await openAsBlob(CLIP), { model: 'tiny.en' }, 'Norland chapter one.wav') });
      assert.equal(submitted.status, 202, await submitted.clone().text());
      const { id } = await submitted.json();
      await waitFor(`job ${id} to succeed`, async () => {
        const job = await (await fetch(`${g.url}/api/jobs/${id}`, { headers: ALICE })).json();
        assert.ok(job.status === 'queued' || job.status === 'running' || job.status === 'succeeded', JSON.stringify(job.error));
        return job.status === 'succeeded';
      }, 120_000, 100);

      const found = await search(g.url, 'q=dashwood');
      assert.deepEqual(found.jobs.map((j) => j.id), [id]);
      const matches = found.jobs[0]!.matches!;
      assert.ok(matches.length >= 1 && matches.length <= 3, JSON.stringify(matches));
      for (const m of matches) {
        assert.match(m.text.toLowerCase(), /dashwood/);
        assert.ok(m.start >= 0 && m.start < m.end && m.end <= CLIP_SECONDS + 1, `a time within the clip: ${JSON.stringify(m)}`);
        assert.equal(typeof m.segment_id, 'number');
      }
      assert.deepEqual((await search(g.url, 'q=DASHWOO')).jobs.map((j) => j.id), [id], 'the last word as typed so far');
      assert.deepEqual((await search(g.url, 'q=dashwood&model=tiny.en&status=succeeded')).jobs.map((j) => j.id), [id]);
      assert.deepEqual((await search(g.url, `q=dashwood&until=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`)).jobs, []);
      const byName = (await search(g.url, 'q=norland')).jobs;
      assert.deepEqual(byName.map((j) => [j.id, j.filename]), [[id, 'Norland chapter one.wav']], 'by its file name');

      assert.deepEqual((await search(g.url, 'q=dashwood', BOB)).jobs, [], 'another key does not see it');
      assert.deepEqual((await search(g.url, 'q=xylophonequark')).jobs, [], 'a word it does not say');
      assert.deepEqual((await search(g.url, `q=${encodeURIComponent('"dashwood" OR NEAR(')}`)).jobs, [], 'syntax is words: "or" and "near" are not said');
      assert.equal((await fetch(`${g.url}/api/jobs?q=dashwood`)).status, 401, 'no key: no search');

      assert.equal((await fetch(`${g.url}/api/jobs/${id}`, { method: 'DELETE', headers: ALICE })).status, 204);
      assert.deepEqual((await search(g.url, 'q=dashwood')).jobs, [], 'a deleted job is not found');
    } finally {
      await g.close();
    }
  });
}

test('the OpenAPI document carries the list\'s search and filters, and the matches', async () => {
  const g = await startGateway([worker.address]);
  try {
    const doc = await (await fetch(`${g.url}/openapi.json`)).json();
    const list = doc.paths['/api/jobs'].get;
    const names = list.parameters.map((p: { name: string }) => p.name);
    for (const name of ['q', 'model', 'since', 'until']) assert.ok(names.includes(name), name);
    const q = list.parameters.find((p: { name: string }) => p.name === 'q');
    assert.deepEqual([q.schema.minLength, q.schema.maxLength], [1, 200]);
    assert.equal(list.parameters.find((p: { name: string }) => p.name === 'since').schema.format, 'date-time');
    const item = list.responses['200'].content['application/json'].schema.properties.jobs.items;
    assert.deepEqual(Object.keys(item.properties.matches.items.properties), ['segment_id', 'start', 'end', 'text']);
  } finally {
    await g.close();
  }
});
