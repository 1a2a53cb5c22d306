// The OpenAI audio API, driven by the official `openai` package.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, openAsBlob, readFileSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { startWorker, CLIP, ROOT, type RunningWorker } from '../../test-support/worker.ts';
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
  assert.deepEqual(Object.keys(result), ['text', 'usage']);
  assert.equal(result.usage?.type, 'duration');
  assert.ok(result.usage.type === 'duration' && result.usage.seconds > 7 && result.usage.seconds < 8, 'the clip is 7.1 s');
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

// --- OpenAI's parameters field by field (docs/api.md) ------------------------

const run = promisify(execFile);
const SPEECH = JSON.parse(readFileSync(path.join(ROOT, 'test-support', 'speech.json'), 'utf8')) as Record<string, { text: string }>;

async function post(fields: Record<string, string | string[]>, audio = CLIP, route = 'transcriptions', base = gw.url): Promise<Response> {
  const body = new FormData();
  body.append('file', await openAsBlob(audio), path.basename(audio));
  for (const [name, value] of Object.entries(fields)) for (const one of [value].flat()) body.append(name, one);
  return fetch(`${base}/v1/audio/${route}`, { method: 'POST', body });
}

interface Logprob { token: string; logprob: number; bytes: number[] }

/** Each logprob is a word of `text` in order: its token the word, its bytes the token's UTF-8, its logprob a log probability. */
function assertLogprobs(logprobs: Logprob[] | null, text: string): void {
  assert.ok(logprobs && logprobs.length > 0, 'logprobs are given');
  for (const p of logprobs) {
    assert.ok(Number.isFinite(p.logprob) && p.logprob <= 0 && p.logprob >= Math.log(0.00005) - 1e-9, `logprob ${p.logprob}`);
    assert.deepEqual(p.bytes, [...Buffer.from(p.token, 'utf8')]);
  }
  assert.equal(logprobs.map((p) => p.token).join('').trim(), text.trim(), 'the tokens, joined, are the text');
}

test('the official Python SDK: include logprobs, usage and the stream\'s delta, segment and done events, parsed into its types', async () => {
  const script = path.join(path.dirname(new URL(import.meta.url).pathname), 'sdk', 'transcription.py');
  const { stdout } = await run(path.join(ROOT, '.venv', 'bin', 'python'), [script, `${gw.url}/v1`, CLIP]);
  const out = JSON.parse(stdout);

  assert.equal(out.json.is_transcription, true);
  assert.match(out.json.text.toLowerCase(), /dashwood/);
  assert.equal(out.json.usage.class, 'UsageDuration', 'the SDK picked its duration usage by the type field');
  assert.ok(out.json.usage.seconds > 7 && out.json.usage.seconds < 8);
  assertLogprobs(out.json.logprobs, out.json.text);

  assert.equal(out.verbose_json.is_verbose, true);
  assert.deepEqual(out.verbose_json.usage, { type: 'duration', seconds: out.verbose_json.duration });

  const events = out.stream as Array<Record<string, any>>;
  const deltas = events.filter((e) => e.class === 'delta');
  const segments = events.filter((e) => e.class === 'segment');
  assert.ok(deltas.length >= 1 && segments.length === deltas.length, 'a segment event for every delta');
  assert.deepEqual(events.map((e) => e.class), [...deltas.flatMap(() => ['delta', 'segment']), 'done'], 'delta, its segment, …, then done');
  const done = events.at(-1)!;
  assert.equal(deltas.map((d) => d.delta).join('').trim(), done.text);
  segments.forEach((s, i) => {
    assert.equal(s.id, `seg_${i}`);
    assert.ok(s.start >= 0 && s.end > s.start && s.end <= 8, `segment ${i} at ${s.start}..${s.end}`);
    assert.equal(s.text, deltas[i]!.delta.trim());
    assert.equal(s.has_speaker, false, 'no speaker without diarization');
  });
  deltas.forEach((d) => assertLogprobs(d.logprobs, d.delta));
  assertLogprobs(done.logprobs, done.text);
  assert.deepEqual(done.logprobs, deltas.flatMap((d) => d.logprobs), 'done holds every delta\'s logprobs');
  assert.equal(done.usage.type, 'duration');
  assert.ok(done.usage.seconds > 7 && done.usage.seconds < 8);
});

test('no logprobs unless asked; asked with a format other than json (and no stream), refused', async () => {
  const plain = await (await post({ model: 'whisper-1' })).json();
  assert.equal(plain.logprobs, undefined);
  const r = await post({ model: 'whisper-1', 'include[]': 'logprobs', response_format: 'srt' });
  assert.equal(r.status, 400);
  const { error } = await r.json();
  assert.equal(error.code, 'invalid_parameter');
  assert.equal(error.param, 'include[]');
});

test('timestamp_granularities without brackets (as LiteLLM sends it), once or repeated, gives words', async () => {
  for (const granularities of ['word', ['word', 'segment']]) {
    const r = await post({ model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: granularities });
    assert.equal(r.status, 200);
    const body = await r.json();
    assert.ok(body.words.length > 5, JSON.stringify(granularities));
    assert.ok(body.words.every((w: { start: number; end: number }) => w.end >= w.start));
    assert.deepEqual(body.usage, { type: 'duration', seconds: body.duration });
  }
  const segmentOnly = await (await post({ model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: 'segment' })).json();
  assert.equal(segmentOnly.words, undefined);
});

test('an unknown field: 400 unknown_parameter naming it, on transcriptions and translations', async () => {
  for (const [route, field] of [['transcriptions', 'frobnicate'], ['translations', 'keywords[]'], ['translations', 'include[]']] as const) {
    const r = await post({ model: 'whisper-1', [field]: 'x' }, CLIP, route);
    assert.equal(r.status, 400, `${route} ${field}`);
    const { error } = await r.json();
    assert.equal(error.type, 'invalid_request_error');
    assert.equal(error.code, 'unknown_parameter');
    assert.equal(error.param, field);
    assert.ok(error.message.includes(field));
  }
  await assert.rejects(
    client.audio.transcriptions.create({ file: createReadStream(CLIP), model: 'whisper-1', nonsense: 1 } as never),
    (e: any) => e instanceof OpenAI.BadRequestError && e.code === 'unknown_parameter' && e.param === 'nonsense',
  );
});

/** A TCP tap between a gateway and the worker: every byte the gateway sends, kept (the protocol's JSON frames are plain text). */
async function startTap(target: string): Promise<{ address: string; sent: () => string; close: () => Promise<void> }> {
  const [host, port] = target.split(':');
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: host!, port: Number(port) });
    for (const [s, other] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(s);
      s.on('error', () => other.destroy());
      s.on('close', () => { sockets.delete(s); other.destroy(); });
    }
    client.on('data', (chunk: Buffer) => chunks.push(chunk));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    sent: () => Buffer.concat(chunks).toString('latin1'),
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

test('keywords[] reach the worker as hotwords, languages[] as language_candidates (the transcribe message as sent)', async () => {
  const tap = await startTap(worker.address);
  const tapped = await startGateway([tap.address], { OPENAI_MODEL_ALIASES: 'whisper-1=tiny.en' });
  try {
    const r = await post({ model: 'whisper-1', 'keywords[]': ['Dashwood', ' Norland Park '], 'languages[]': ['en', 'de', 'en'] }, CLIP, 'transcriptions', tapped.url);
    assert.equal(r.status, 200);
    assert.match((await r.json()).text.toLowerCase(), /dashwood/);
    const sent = Buffer.from(tap.sent(), 'latin1').toString('utf8');
    const message = sent.match(/\{"[^\n]*?"command":"transcribe"[^]*?\}\}/)?.[0] ?? '';
    assert.ok(message.includes('"hotwords":"Dashwood, Norland Park"'), message || sent.slice(0, 500));
    assert.ok(message.includes('"language_candidates":["en","de"]'), message);
  } finally {
    await tapped.close();
    await tap.close();
  }
});

test('languages[]: German among de and fr is de; English among them is one of the two', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'speech-'));
  const german = path.join(dir, 'de.wav');
  execFileSync('espeak-ng', ['-v', 'de', '-w', german, SPEECH.de!.text]);
  const fields = { model: 'base', response_format: 'verbose_json', 'languages[]': ['de', 'fr'] };
  const de = await (await post(fields, german)).json();
  assert.equal(de.language, 'german');
  const free = await (await post({ model: 'base', response_format: 'verbose_json' })).json();
  assert.equal(free.language, 'english', 'the control: left free, the clip is English');
  const held = await (await post(fields)).json();
  assert.ok(['german', 'french'].includes(held.language), held.language);
  const bad = await post({ model: 'base', 'languages[]': ['de', 'klingon'] });
  assert.equal(bad.status, 400);
  const { error } = await bad.json();
  assert.equal(error.code, 'unknown_language');
  assert.equal(error.param, 'languages[]');
});
