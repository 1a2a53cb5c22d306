// The OpenAI audio API, driven by the official `openai` package.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import OpenAI from 'openai';
import { startWorker, CLIP, type RunningWorker } from '../../test-support/worker.ts';
import { startGateway, type Gateway } from '../../test-support/gateway.ts';

let worker: RunningWorker;
let gw: Gateway;
let client: OpenAI;

before(async () => {
  worker = await startWorker({ WHISPER_SLOTS: '1' });
  gw = await startGateway([worker.address], { OPENAI_MODEL_ALIASES: 'whisper-1=tiny.en' });
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
});
after(async () => {
  await gw?.close();
  await worker?.stop();
});

test('json', async () => {
  const result = await client.audio.transcriptions.create({ file: createReadStream(CLIP), model: 'whisper-1' });
  assert.match(result.text.toLowerCase(), /dashwood/);
  assert.deepEqual(Object.keys(result), ['text']);
});

test('text, srt and vtt', async () => {
  const text = await client.audio.transcriptions.create({ file: createReadStream(CLIP), model: 'whisper-1', response_format: 'text' });
  assert.match(String(text).toLowerCase(), /dashwood/);
  const srt = await client.audio.transcriptions.create({ file: createReadStream(CLIP), model: 'whisper-1', response_format: 'srt' });
  assert.match(String(srt), /^1\n00:00:00,000 --> /);
  const vtt = await client.audio.transcriptions.create({ file: createReadStream(CLIP), model: 'whisper-1', response_format: 'vtt' });
  assert.match(String(vtt), /^WEBVTT/);
});

test('verbose_json with word and segment timestamps', async () => {
  const result = await client.audio.transcriptions.create({
    file: createReadStream(CLIP),
    model: 'whisper-1',
    response_format: 'verbose_json',
    timestamp_granularities: ['word', 'segment'],
  });
  assert.equal(result.language, 'english');
  assert.ok(result.duration > 7);
  const segment = result.segments![0]!;
  for (const key of ['id', 'seek', 'start', 'end', 'text', 'tokens', 'temperature', 'avg_logprob', 'compression_ratio', 'no_speech_prob']) {
    assert.ok(key in segment, key);
  }
  assert.ok(result.words!.length > 5);
  assert.ok(result.words!.some((w) => /dashwood/i.test(w.word)), 'the clip\'s one clear name is among the words');
});

test('streaming: text deltas, then done', async () => {
  const stream = await client.audio.transcriptions.create({ file: createReadStream(CLIP), model: 'whisper-1', stream: true });
  const types: string[] = [];
  let deltas = '';
  let done = '';
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === 'transcript.text.delta') deltas += event.delta;
    if (event.type === 'transcript.text.done') done = event.text;
  }
  assert.ok(types.filter((t) => t === 'transcript.text.delta').length >= 1);
  assert.equal(types.at(-1), 'transcript.text.done');
  assert.equal(deltas.trim(), done);
});

test('translations and models', async () => {
  const translated = await client.audio.translations.create({ file: createReadStream(CLIP), model: 'whisper-1' });
  assert.match(translated.text.toLowerCase(), /dashwood/);
  const models = await client.models.list();
  const ids = models.data.map((m) => m.id);
  assert.ok(ids.includes('whisper-1') && ids.includes('base'));
});

test('errors come back in OpenAI shape and the SDK raises them', async () => {
  await assert.rejects(
    client.audio.transcriptions.create({ file: createReadStream(CLIP), model: 'gpt-9' }),
    (e: any) => e instanceof OpenAI.BadRequestError && e.code === 'unknown_model' && /gpt-9/.test(e.message),
  );
});

test('with API keys set: the SDK works with its key, and raises AuthenticationError without a valid one', async () => {
  const guarded = await startGateway([worker.address], { OPENAI_MODEL_ALIASES: 'whisper-1=tiny.en', API_KEYS: 'sdk:sk-sdk-test-key-42' });
  try {
    const keyed = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: 'sk-sdk-test-key-42', maxRetries: 0 });
    assert.match((await keyed.audio.transcriptions.create({ file: createReadStream(CLIP), model: 'whisper-1' })).text.toLowerCase(), /dashwood/);
    const wrong = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: 'sk-not-the-key', maxRetries: 0 });
    await assert.rejects(wrong.audio.transcriptions.create({ file: createReadStream(CLIP), model: 'whisper-1' }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.AuthenticationError);
      assert.equal(e.status, 401);
      assert.equal(e.code, 'invalid_api_key');
      return true;
    });
  } finally {
    await guarded.close();
  }
});
