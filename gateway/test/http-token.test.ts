// A real worker with WORKER_TOKEN behind real gateways: the right token, a
// wrong one and none (the worker down, /api/health saying why, clients getting
// 503 rather than the worker's `unauthorized`); and the worker's length limit
// as the client sees it (400 audio_too_long).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openAsBlob } from 'node:fs';
import { startWorker, CLIP, SHORT_CLIP, type RunningWorker } from '../../test-support/worker.ts';
import { startGateway, form } from '../../test-support/gateway.ts';

let worker: RunningWorker;

before(async () => {
  worker = await startWorker({ WORKER_TOKEN: 's3cret', WHISPER_MAX_AUDIO_SECONDS: '5' });
});
after(async () => {
  await worker?.stop();
});

const transcribe = async (url: string, clip: string) =>
  fetch(`${url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(clip), { model: 'tiny.en' }) });

test('with the right token the worker is up and transcribes; audio over its limit is a 400 audio_too_long', async () => {
  const gw = await startGateway([worker.address], { WORKER_TOKEN: 's3cret' });
  try {
    const health = await fetch(`${gw.url}/api/health`);
    assert.equal(health.status, 200);
    assert.deepEqual((await health.json()).workers.map((w: { up: boolean; error: unknown }) => [w.up, w.error]), [[true, null]]);
    const short = await transcribe(gw.url, SHORT_CLIP); // 3 s
    assert.equal(short.status, 200);
    assert.match((await short.json()).text.toLowerCase(), /\bman\b/);
    const long = await transcribe(gw.url, CLIP); // 7 s, over the worker's 5
    assert.equal(long.status, 400);
    const { error } = await long.json();
    assert.equal(error.code, 'audio_too_long');
    assert.match(error.message, /^The audio is 0:00:07 long \(7 s\); this worker accepts at most 0:00:05 \(WHISPER_MAX_AUDIO_SECONDS=5\)/);
  } finally {
    await gw.close();
  }
});

for (const [name, env, reason] of [
  ['a wrong token', { WORKER_TOKEN: 'guess' }, /^the worker refused WORKER_TOKEN: set the same WORKER_TOKEN/],
  ['no token', {}, /^the worker refused WORKER_TOKEN: it requires one and the gateway has none/],
] as const) {
  test(`with ${name} the worker is down, /api/health says why, and clients get 503`, async () => {
    const gw = await startGateway([worker.address], env);
    try {
      const health = await fetch(`${gw.url}/api/health`);
      assert.equal(health.status, 503);
      const [view] = (await health.json()).workers;
      assert.equal(view.up, false);
      assert.match(view.error, reason);
      const refused = await transcribe(gw.url, SHORT_CLIP);
      assert.equal(refused.status, 503);
      const { error } = await refused.json();
      assert.equal(error.code, 'no_worker');
      assert.match(error.message, /the worker refused WORKER_TOKEN/);
      assert.ok(!JSON.stringify(error).includes('guess'), 'the token is never shown');
    } finally {
      await gw.close();
    }
  });
}
