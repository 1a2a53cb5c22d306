// The realtime WebSocket in front of the real worker: LibriVox speech at
// real-time pace in 100 ms appends, as a microphone would send it; the slot
// freed when a client vanishes; and OpenAI's own SDK as the client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { startWorker, CLIP, SHORT_CLIP, type RunningWorker } from '../../test-support/worker.ts';
import { startGateway, type Gateway } from '../../test-support/gateway.ts';
import { waitFor } from '../../test-support/wait.ts';
import { librivoxReferences, wer } from '../../test-support/scoring.ts';
import type { LocalDispatch } from '../src/dispatch/index.ts';
import { RealtimeClient, pcm, type ServerEvent } from './realtime-client.ts';

const RATE = 24000;
const CHUNK = (RATE / 10) * 2; // bytes of 100 ms

let worker: RunningWorker;
let gw: Gateway;

before(async () => {
  worker = await startWorker({ WHISPER_SLOTS: '1' });
  gw = await startGateway([worker.address], { OPENAI_MODEL_ALIASES: 'whisper-1=tiny.en,gpt-4o-transcribe=tiny.en' });
});
after(async () => {
  await gw?.close();
  await worker?.stop();
});

/** A clip as 24 kHz mono PCM16, as OpenAI's clients send it. */
function pcm24k(file: string): Buffer {
  return execFileSync('sox', [file, '-r', String(RATE), '-c', '1', '-b', '16', '-e', 'signed-integer', '-L', '-t', 'raw', '-'], { maxBuffer: 64 << 20 });
}

/** A clip's reference transcript. */
function reference(file: string): string {
  return librivoxReferences().get(path.basename(file, '.wav'))!;
}

const pool = () => (gw.dispatch as LocalDispatch).pool.list()[0]!;

/** Appends `audio` in 100 ms events at real-time pace; resolves with when the last one was sent. */
async function speak(client: RealtimeClient, audio: Buffer): Promise<number> {
  const start = performance.now();
  for (let n = 0, at = 0; at < audio.length; n++, at += CHUNK) {
    const wait = start + n * 100 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    client.append(audio.subarray(at, at + CHUNK));
  }
  return performance.now();
}

test('LibriVox at real-time pace: deltas while it is spoken, then transcripts under 0.35 WER, stored as a job', async () => {
  const client = await RealtimeClient.connect(gw.url);
  const { session } = await client.take('session.created');
  client.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: RATE }, transcription: { model: 'whisper-1', language: 'en' } } } } });
  await client.take('session.updated');
  let firstText = Infinity;
  client.socket.on('message', (data) => {
    const event = JSON.parse(data.toString()) as ServerEvent;
    if (event.type === 'conversation.item.input_audio_transcription.delta' && event.delta.trim() && firstText === Infinity) firstText = performance.now();
  });
  const silence = pcm(1500, RATE, true);
  const audio = Buffer.concat([pcm24k(CLIP), silence, pcm24k(SHORT_CLIP), silence]);
  const lastSent = await speak(client, audio);
  assert.ok(firstText < lastSent, `confirmed text came while the audio was still being sent (${((lastSent - firstText) / 1000).toFixed(1)} s before its end)`);

  // Each sentence ends in its silence; the second one's final may come a little after the last append.
  const completed = () => client.received.filter((e) => e.type === 'conversation.item.input_audio_transcription.completed');
  const secondStarts = (pcm24k(CLIP).length + silence.length) / 2 / (RATE / 1000);
  await waitFor('the second sentence\'s transcript', () => completed().some((c) => c.audio_end_ms > secondStarts), 60_000, 100);
  const text = completed().map((e) => e.transcript).join(' ');
  const score = wer([`${reference(CLIP)} ${reference(SHORT_CLIP)}`], [text]);
  console.log(`first confirmed text ${((lastSent - firstText) / 1000).toFixed(1)} s before the audio ended; ${completed().length} transcripts, WER ${score.toFixed(3)}: ${text}`);
  assert.ok(score < 0.35, `WER ${score.toFixed(3)}: ${text}`);
  const ms = audio.length / 2 / (RATE / 1000);
  for (const c of completed()) assert.ok(c.audio_start_ms >= 0 && c.audio_start_ms < c.audio_end_ms && c.audio_end_ms <= ms, JSON.stringify(c));
  assert.equal(completed()[0]!.language, 'en');
  const committed = client.received.filter((e) => e.type === 'input_audio_buffer.committed').map((e) => e.item_id);
  assert.deepEqual(completed().map((c) => c.item_id), committed, 'one committed item per transcript, in order');
  await client.close();

  const job = await waitFor('the session to be stored', async () => {
    const response = await fetch(`${gw.url}/api/jobs/${session.id}`);
    return response.status === 200 && (await response.json());
  });
  assert.deepEqual([job.status, job.model, job.language], ['succeeded', 'tiny.en', 'en']);
  assert.equal(job.result.text, completed().map((c) => c.transcript.trim()).join(' '));
  assert.equal(job.result.segments.length, completed().length);
  assert.match(await (await fetch(`${gw.url}/api/jobs/${session.id}/result?format=srt`)).text(), /^1\n00:00:0\d,\d{3} --> /);
});

test('a client that vanishes mid-sentence frees the worker\'s slot', async () => {
  const client = await RealtimeClient.connect(gw.url, { query: 'model=whisper-1' });
  const { session } = await client.take('session.created');
  const speech = pcm24k(CLIP);
  await speak(client, speech.subarray(0, 3 * RATE * 2));
  await client.take('input_audio_buffer.speech_started');
  // Generous: with other work on the machine the worker may read the audio late.
  await waitFor('the stream to hold the worker\'s slot', () => pool().status?.running === 1 && pool().busy === 1, 60_000, 50);
  client.socket.terminate();
  await waitFor('the slot to be free on the worker and in the gateway', () => pool().status?.running === 0 && pool().busy === 0, 30_000, 50);
  // Not only the slot (a stream gives it back after 3 s without audio anyway): the stream itself ended on the worker.
  const ended = () => worker.requests().find((l) => l.command === 'stream' && l.id === `${session.id}/1`);
  assert.equal((await waitFor('the worker to log the stream\'s end', ended, 30_000, 50)).outcome, 'cancelled');
});

test('OpenAI\'s own SDK (OpenAIRealtimeWS, intent transcription) transcribes a clip', async () => {
  const sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-unused', maxRetries: 0 });
  // The SDK always dials wss://; the gateway here speaks plain ws, so the socket is made without TLS.
  const rt = new OpenAIRealtimeWS({ intent: 'transcription', options: { createConnection: net.createConnection } }, sdk);
  const failed = new Promise<never>((_, reject) => rt.on('error', (e) => reject(e)));
  const next = <T>(what: string, wait: Promise<T>) => Promise.race([wait, failed, timeout(what)]);
  try {
    const created = await next('session.created', new Promise<{ id?: string }>((resolve) => rt.on('session.created', (e) => resolve(e.session as { id?: string }))));
    assert.ok(created.id);
    rt.send({
      type: 'session.update',
      session: { type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: 24000 }, transcription: { model: 'gpt-4o-transcribe', language: 'en' }, turn_detection: null } } },
    });
    await next('session.updated', new Promise((resolve) => rt.on('session.updated', resolve)));
    const done = new Promise<string>((resolve) => rt.on('conversation.item.input_audio_transcription.completed', (e) => resolve(e.transcript)));
    const speech = pcm24k(SHORT_CLIP);
    for (let at = 0; at < speech.length; at += CHUNK) rt.send({ type: 'input_audio_buffer.append', audio: speech.subarray(at, at + CHUNK).toString('base64') });
    rt.send({ type: 'input_audio_buffer.commit' });
    const transcript = await next('the transcript', done);
    assert.ok(wer([reference(SHORT_CLIP)], [transcript]) < 0.35, transcript);
  } finally {
    rt.close();
  }
});

function timeout(what: string, ms = 60_000): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms / 1000} s`)), ms).unref());
}

test('a client that floods the real worker faster than real time gets buffer_full, then is disconnected; the worker frees its slot', async () => {
  const client = await RealtimeClient.connect(gw.url, { query: 'intent=transcription&model=whisper-1' });
  await client.take('session.created');
  const speech = pcm24k(CLIP);
  // 0.5 s appends every 25 ms: 20 times real time, as the measured flood (1,110 s of audio in 60 s).
  const half = CHUNK * 5;
  let sent = 0;
  const closed = client.closed.then((c) => c.code);
  const start = performance.now();
  while (client.socket.readyState === client.socket.OPEN && sent < 2400) {
    const at = (sent * half) % (speech.length - half);
    client.append(speech.subarray(at, at + half));
    sent += 1;
    const wait = start + sent * 25 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  assert.equal(await closed, 1008, `closed after ${sent / 2} s of audio sent`);
  const refusals = client.received.filter((e) => e.type === 'error' && e.error.code === 'buffer_full');
  assert.ok(refusals.length > 1, 'refused appends were each told');
  assert.ok(client.received.some((e) => e.type === 'input_audio_buffer.speech_started'), 'what was taken was heard');
  await waitFor('the worker to end the stream and free its slot', () => pool().busy === 0 && worker.requests().some((r) => r.command === 'stream'), 20_000);
  await waitFor('the worker to say its slot is free', async () => (await (await fetch(`${gw.url}/api/health`)).json()).workers[0].running === 0);
});
