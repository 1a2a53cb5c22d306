// The team's own models (a folder of the worker's models folder, under a name
// faster-whisper does not know) through the gateway: listed, and usable by
// name, against a real worker with real weights, over real HTTP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, openAsBlob, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startWorker, ROOT, CLIP, type RunningWorker } from '../../test-support/worker.ts';
import { startGateway, form, type Gateway } from '../../test-support/gateway.ts';

let dir: string;
let worker: RunningWorker;
let gw: Gateway;

/** A conversion under a new name, its files linked: no copy of the weights. */
function conversion(from: string, name: string): void {
  const folder = path.join(dir, name);
  mkdirSync(folder);
  for (const file of readdirSync(path.join(ROOT, 'models', from))) symlinkSync(path.join(ROOT, 'models', from, file), path.join(folder, file));
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'own-models-'));
  conversion('base', 'my-finetune');
  conversion('tiny.en', 'whisper-tiny-en-ours');
  worker = await startWorker({ WHISPER_SLOTS: '1', WHISPER_MODELS_DIR: dir, WHISPER_ALLOW_DOWNLOAD: 'false' });
  gw = await startGateway([worker.address]);
});
after(async () => {
  await gw?.close();
  await worker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const post = async (fields: Record<string, string>) =>
  fetch(`${gw.url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(CLIP), fields) });

test('GET /api/models and /v1/models list the own models, with what their files say', async () => {
  const body = await (await fetch(`${gw.url}/api/models`)).json();
  const byName = Object.fromEntries(body.models.map((m: any) => [m.name, m]));
  assert.equal(byName['my-finetune'].available, true);
  assert.equal(byName['my-finetune'].multilingual, true);
  assert.ok(['en', 'de', 'ru'].every((code) => byName['my-finetune'].languages.includes(code)));
  assert.deepEqual([byName['whisper-tiny-en-ours'].multilingual, byName['whisper-tiny-en-ours'].languages], [false, ['en']]);
  assert.deepEqual([byName['base'].available, byName['base'].multilingual, byName['base'].languages], [false, null, null]);
  const openai = await (await fetch(`${gw.url}/v1/models`)).json();
  const ids = openai.data.map((m: { id: string }) => m.id);
  assert.ok(ids.includes('my-finetune') && ids.includes('whisper-tiny-en-ours'), ids.join(', '));
});

test('POST /api/transcribe with model=my-finetune transcribes with it', async () => {
  const response = await post({ model: 'my-finetune', language: 'en' });
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.match(body.text.toLowerCase(), /dashwood/); // one clear word of the clip
  assert.equal(body.model, 'my-finetune');
});

test('POST /v1/audio/transcriptions takes it by name too', async () => {
  const response = await fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', body: form(await openAsBlob(CLIP), { model: 'my-finetune', language: 'en' }) });
  assert.equal(response.status, 200);
  assert.match((await response.json()).text.toLowerCase(), /dashwood/);
});

test('an English-only model asked for another language is a 400 that says why', async () => {
  const response = await post({ model: 'whisper-tiny-en-ours', language: 'de' });
  assert.equal(response.status, 400);
  const { error } = await response.json();
  assert.equal(error.code, 'unsupported_language'); // the gateway knows the model's languages from the worker: refused before it is queued
  assert.equal(error.param, 'language');
  assert.match(error.message, /English-only/);
});

test('a name that is no folder of the models folder is refused', async () => {
  for (const model of ['../base', '.hidden', 'a/b']) {
    const response = await post({ model });
    assert.equal(response.status, 400, model);
    assert.equal((await response.json()).error.code, 'unknown_model', model);
  }
});
