// The realtime WebSocket (GET /v1/realtime) over real WebSockets, in front
// of the scripted fake worker (./fake-stream.ts): the event mapping, every
// refusal, the session limit, keys, a worker lost mid-session, slot
// accounting, and the session stored as a job. The real worker's streaming
// is tested in ./http-realtime-worker.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeWorker, type FakeWorker } from './fake-worker.ts';
import { RealtimeClient, pcm } from './realtime-client.ts';
import { startGateway, type Gateway } from '../../test-support/gateway.ts';
import { waitFor } from '../../test-support/wait.ts';
import type { LocalDispatch } from '../src/dispatch/index.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startRedis } from '../../test-support/redis.ts';

async function stack(env: Record<string, string> = {}, workers = 1): Promise<{ gw: Gateway; fakes: FakeWorker[]; stop(): Promise<void> }> {
  const fakes = await Promise.all(Array.from({ length: workers }, () => startFakeWorker({ slots: 1 })));
  const gw = await startGateway(fakes.map((f) => f.address), env);
  return { gw, fakes, stop: async () => (await gw.close(), await Promise.all(fakes.map((f) => f.close())), undefined) };
}

const busy = (gw: Gateway) => (gw.dispatch as LocalDispatch).pool.list().map((w) => w.busy);

test('session.created in the GA shape; a plain GET is told to upgrade; an unknown intent is refused', async () => {
  const { gw, stop } = await stack();
  try {
    const client = await RealtimeClient.connect(gw.url);
    const created = await client.take('session.created');
    assert.match(created.event_id, /^event_/);
    assert.deepEqual(created.session, {
      object: 'realtime.session', type: 'transcription', id: created.session.id,
      audio: { input: { format: { type: 'audio/pcm', rate: 24000 }, noise_reduction: null, transcription: { model: 'base', prompt: '', language: null }, turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 } } },
      include: [],
    });
    await client.close();
    const plain = await fetch(`${gw.url}/v1/realtime?intent=transcription`);
    assert.equal(plain.status, 426);
    assert.equal((await plain.json()).error.code, 'upgrade_required');
    await assert.rejects(RealtimeClient.connect(gw.url, { query: 'intent=conversation' }), (e: any) => e.status === 400 && e.body.error.code === 'invalid_parameter');
    const sdkStyle = await RealtimeClient.connect(gw.url, { query: 'model=whisper-1' });
    assert.equal((await sdkStyle.take('session.created')).session.audio.input.transcription.model, 'whisper-1');
    await sdkStyle.close();
  } finally {
    await stop();
  }
});

test('audio to the worker as raw frames; VAD and commit; item ids; the session stored as a job', async () => {
  const { gw, fakes: [fake], stop } = await stack();
  try {
    const client = await RealtimeClient.connect(gw.url);
    const { session } = await client.take('session.created');
    client.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { transcription: { model: 'whisper-1', language: 'en' } } } } });
    assert.equal((await client.take('session.updated')).session.audio.input.transcription.language, 'en');
    client.append(pcm(100));
    const started = await client.take('input_audio_buffer.speech_started');
    const delta = await client.take('conversation.item.input_audio_transcription.delta');
    assert.deepEqual([delta.item_id, delta.content_index, delta.delta, delta.pending], [started.item_id, 0, ' w1', ' more']);
    assert.match(started.item_id, /^item_/);
    client.append(pcm(100));
    client.append(pcm(100, 24000, true)); // silence ends the utterance
    const stopped = await client.take('input_audio_buffer.speech_stopped');
    const committed = await client.take('input_audio_buffer.committed');
    const completed = await client.take('conversation.item.input_audio_transcription.completed');
    assert.deepEqual([stopped.item_id, stopped.audio_end_ms], [started.item_id, 200]);
    assert.deepEqual([committed.item_id, committed.previous_item_id], [started.item_id, null]);
    assert.deepEqual(
      [completed.item_id, completed.content_index, completed.transcript, completed.language, completed.audio_start_ms, completed.audio_end_ms, completed.usage],
      [started.item_id, 0, 'w1 w2', 'en', 0, 200, { type: 'duration', seconds: 0.2 }],
    );
    // A second utterance, ended by commit; a 3 MiB append reaches the worker in frames of at most 1 MiB.
    const big = pcm(65_536); // 3 MiB
    client.append(big);
    client.send({ type: 'input_audio_buffer.commit', event_id: 'c1' });
    const second = await client.take('input_audio_buffer.committed');
    assert.equal(second.previous_item_id, started.item_id);
    assert.notEqual(second.item_id, started.item_id);
    assert.equal((await client.take('conversation.item.input_audio_transcription.completed')).item_id, second.item_id);
    assert.deepEqual(fake!.streams.log.opened.map((o) => [o.model, o.options.sample_rate, o.options.language]), [['base', 24000, 'en']]);
    assert.deepEqual(fake!.streams.log.frames.slice(3), [1 << 20, 1 << 20, 1 << 20]);
    assert.equal(fake!.streams.log.frames.slice(0, 3).reduce((a, b) => a + b, 0), 3 * 4800, 'each 100 ms append arrives as its raw 4800 bytes');
    const ids = client.received.map((e) => e.event_id);
    assert.equal(new Set(ids).size, ids.length, 'every event_id is unique');
    await client.close();

    const job = await waitFor('the session to be stored', async () => {
      const response = await fetch(`${gw.url}/api/jobs/${session.id}`);
      return response.status === 200 && (await response.json());
    });
    assert.deepEqual([job.status, job.model, job.language, job.task], ['succeeded', 'base', 'en', 'transcribe']);
    assert.equal(job.result.text, 'w1 w2 w3 w4 w5');
    assert.deepEqual(job.result.segments.map((s: any) => [s.start, s.end, s.text]), [[0, 0.2, ' w1 w2'], [0.3, 65.836, ' w3 w4 w5']]);
    assert.ok((await (await fetch(`${gw.url}/api/jobs`)).json()).jobs.some((j: any) => j.id === session.id));
    const srt = await (await fetch(`${gw.url}/api/jobs/${session.id}/result?format=srt`)).text();
    assert.match(srt, /^1\n00:00:00,000 --> 00:00:00,200\nw1 w2\n/);
    assert.match(await (await fetch(`${gw.url}/api/jobs/${session.id}/result?format=vtt`)).text(), /^WEBVTT/);
  } finally {
    await stop();
  }
});

test('bad events each get an error in OpenAI\'s shape, and the session goes on', async () => {
  const { gw, stop } = await stack();
  try {
    const client = await RealtimeClient.connect(gw.url);
    await client.take('session.created');
    const update = (input: object, extra: object = {}) => ({ type: 'session.update', event_id: 'u1', session: { type: 'transcription', audio: { input }, ...extra } });
    const cases: Array<[string, string | Buffer | object, string, string | null]> = [
      ['not JSON', '{"type":', 'invalid_json', null],
      ['an array', '[1]', 'invalid_json', null],
      ['an unknown event', { type: 'response.create', event_id: 'x' }, 'unknown_event', 'type'],
      ['a binary message', Buffer.from([1, 2, 3]), 'invalid_json', null],
      ['audio/pcmu', update({ format: { type: 'audio/pcmu' } }), 'invalid_value', 'session.audio.input.format.type'],
      ['44.1 kHz', update({ format: { type: 'audio/pcm', rate: 44100 } }), 'invalid_value', 'session.audio.input.format.rate'],
      ['semantic VAD', update({ turn_detection: { type: 'semantic_vad' } }), 'invalid_value', 'session.audio.input.turn_detection.type'],
      ['a VAD threshold over 1', update({ turn_detection: { type: 'server_vad', threshold: 2 } }), 'invalid_value', 'session.audio.input.turn_detection.threshold'],
      ['noise reduction', update({ noise_reduction: { type: 'near_field' } }), 'invalid_value', 'session.audio.input.noise_reduction'],
      ['logprobs', update({}, { include: ['item.input_audio_transcription.logprobs'] }), 'invalid_value', 'session.include'],
      ['an unknown field', update({ loudness: 3 }), 'unknown_parameter', 'session.audio.input.loudness'],
      ['a conversation session', { type: 'session.update', session: { type: 'realtime' } }, 'invalid_value', 'session.type'],
      ['an unknown model', update({ transcription: { model: 'gpt-9' } }), 'unknown_model', 'session.audio.input.transcription.model'],
      ['an unknown language', update({ transcription: { language: 'xx' } }), 'unknown_language', 'session.audio.input.transcription.language'],
      ['junk in base64', { type: 'input_audio_buffer.append', event_id: 'a1', audio: 'AAA*' }, 'invalid_audio', 'audio'],
      ['padding inside base64', { type: 'input_audio_buffer.append', event_id: 'a1', audio: 'AA==AAAA' }, 'invalid_audio', 'audio'],
      ['an odd number of bytes', { type: 'input_audio_buffer.append', event_id: 'a1', audio: Buffer.alloc(3).toString('base64') }, 'invalid_audio', 'audio'],
      ['an append over 15 MiB', { type: 'input_audio_buffer.append', event_id: 'a1', audio: Buffer.alloc(16 << 20).toString('base64') }, 'audio_too_large', 'audio'],
      ['audio that is not text', { type: 'input_audio_buffer.append', event_id: 'a1', audio: 12 }, 'invalid_value', 'audio'],
      ['a commit with nothing appended', { type: 'input_audio_buffer.commit', event_id: 'c1' }, 'input_audio_buffer_commit_empty', null],
    ];
    for (const [name, message, code, param] of cases) {
      if (Buffer.isBuffer(message)) client.socket.send(message);
      else client.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
      const error = await client.error();
      assert.equal(error.code, code, `${name}: ${JSON.stringify(error)}`);
      assert.equal(error.type, 'invalid_request_error', name);
      assert.equal(error.param, param, name);
      assert.ok(error.message.length > 20, `${name}: a message that says what is wrong`);
      const sentId = typeof message === 'object' && !Buffer.isBuffer(message) ? (message as { event_id?: string }).event_id ?? null : null;
      assert.equal(error.event_id, sentId, `${name}: the client event's id`);
    }
    assert.equal(client.pending('session.updated').length, 0, 'a refused update changes nothing');
    // Still usable: a valid update, then audio through to a transcript.
    client.send({ type: 'transcription_session.update', session: { input_audio_format: 'pcm16', input_audio_transcription: { model: 'whisper-1', language: 'en' }, turn_detection: null } });
    const beta = await client.take('transcription_session.updated');
    assert.deepEqual([beta.session.input_audio_format, beta.session.turn_detection, beta.session.input_audio_transcription.language], ['pcm16', null, 'en']);
    client.append(pcm(200));
    client.send({ type: 'input_audio_buffer.commit' });
    assert.equal((await client.take('conversation.item.input_audio_transcription.completed')).transcript, 'w1');
    assert.equal(client.pending('input_audio_buffer.speech_started').length + client.pending('input_audio_buffer.speech_stopped').length, 0, 'no VAD events without VAD');
    assert.equal(client.pending('input_audio_buffer.committed').length, 1);
    client.append(pcm(100));
    client.send({ type: 'input_audio_buffer.clear' });
    await client.take('input_audio_buffer.cleared');
    client.send({ type: 'input_audio_buffer.commit', event_id: 'c2' });
    assert.deepEqual([(await client.error()).code], ['input_audio_buffer_commit_empty'], 'cleared audio is not committed');
    await client.close();
  } finally {
    await stop();
  }
});

test('a settings change closes the stream (its utterance finalized) and the next audio opens one with the new settings', async () => {
  const { gw, fakes: [fake], stop } = await stack();
  try {
    const client = await RealtimeClient.connect(gw.url);
    await client.take('session.created');
    client.append(pcm(300));
    const first = await client.take('input_audio_buffer.speech_started');
    client.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { transcription: { language: 'de' }, format: { type: 'audio/pcm', rate: 16000 } } } } });
    await client.take('session.updated');
    const finalized = await client.take('conversation.item.input_audio_transcription.completed');
    assert.equal(finalized.item_id, first.item_id);
    client.append(pcm(100, 16000));
    const next = await client.take('input_audio_buffer.speech_started');
    assert.notEqual(next.item_id, first.item_id);
    assert.equal(next.audio_start_ms, 300, 'the session\'s clock runs on across streams');
    assert.deepEqual(fake!.streams.log.opened.map((o) => [o.options.language, o.options.sample_rate]), [[null, 24000], ['de', 16000]]);
    assert.ok(fake!.streams.log.commands.includes('stream_close'));
    await client.close();
  } finally {
    await stop();
  }
});

test('a worker lost mid-session: an error, and the next audio opens a stream on a worker that is up', async () => {
  const { gw, fakes, stop } = await stack({}, 2);
  try {
    const client = await RealtimeClient.connect(gw.url);
    await client.take('session.created');
    client.append(pcm(100));
    await client.take('input_audio_buffer.speech_started');
    const first = fakes.find((f) => f.streams.log.opened.length > 0)!;
    const other = fakes.find((f) => f !== first)!;
    await first.close();
    const error = await client.error();
    assert.deepEqual([error.type, error.code, error.event_id], ['server_error', 'worker_lost', null]);
    assert.match(error.message, /next input_audio_buffer\.append/);
    client.append(pcm(100));
    client.send({ type: 'input_audio_buffer.commit' });
    assert.equal((await client.take('conversation.item.input_audio_transcription.completed')).transcript, 'w1');
    assert.equal(other.streams.log.opened.length, 1, 'the new stream runs on the worker that is up');
    const slots = (f: FakeWorker) => (gw.dispatch as LocalDispatch).pool.list().find((w) => w.address === f.address)!.busy;
    assert.deepEqual([slots(first), slots(other)], [0, 1], 'the lost stream\'s slot is given back; the new one holds one');
    await client.close();
    await waitFor('the slot to be given back at the end', () => slots(other) === 0);
  } finally {
    await stop();
  }
});

test('a live stream\'s slot is the scheduler\'s too: a file job waits for it, and a disconnect frees it', async () => {
  const { gw, fakes: [fake], stop } = await stack();
  try {
    const client = await RealtimeClient.connect(gw.url);
    await client.take('session.created');
    client.append(pcm(100));
    await client.take('input_audio_buffer.speech_started');
    await waitFor('the stream\'s slot to be counted', () => busy(gw)[0] === 1);
    const body = new FormData();
    body.append('file', new Blob([Buffer.from('RIFF fake')]), 'a.wav');
    const submitted = await (await fetch(`${gw.url}/api/jobs`, { method: 'POST', body })).json();
    await waitFor('the job to wait in the scheduler for a slot', () => gw.dispatch.dispatcher.counts().waiting === 1);
    assert.deepEqual(fake!.transcriptions, [], 'no file job goes to the slot the stream holds');
    fake!.streams.idle(); // the worker gives the slot back after 3 s without speech
    await waitFor('the job to run once the slot is free', async () => (await (await fetch(`${gw.url}/api/jobs/${submitted.id}`)).json()).status === 'succeeded');
    assert.equal(busy(gw)[0], 0);
    client.append(pcm(100)); // speech again: the slot is taken again
    await waitFor('the slot to be counted again', () => busy(gw)[0] === 1);
    client.socket.terminate(); // the client vanishes, no close handshake
    await waitFor('the stream to be cancelled on the worker', () => fake!.streams.log.cancelled.length === 1);
    await waitFor('the slot to be given back', () => busy(gw)[0] === 0);
    assert.equal(fake!.streams.held, 0);
  } finally {
    await stop();
  }
});

test('several gateways on Redis: a live stream\'s slot is leased there, so another gateway sends no file job to it', async () => {
  const redis = await startRedis();
  const fake = await startFakeWorker({ slots: 1 });
  const shared = { QUEUE_URL: redis.url, QUEUE_PREFIX: 'live', DATA_DIR: mkdtempSync(path.join(tmpdir(), 'live-shared-')) };
  const [a, b] = [await startGateway([fake.address], shared), await startGateway([fake.address], shared)];
  try {
    const client = await RealtimeClient.connect(a.url);
    await client.take('session.created');
    client.append(pcm(100));
    await client.take('input_audio_buffer.speech_started');
    await waitFor('the stream\'s slot to be leased in Redis', async () => (await leases(redis.url, 'live', fake.address)) === 1);
    const body = new FormData();
    body.append('file', new Blob([Buffer.from('RIFF fake')]), 'a.wav');
    const submitted = await (await fetch(`${b.url}/api/jobs`, { method: 'POST', body })).json();
    // Gateway b looks for work at once (the queue's message) and every 2 s: two rounds of it.
    await new Promise((r) => setTimeout(r, 4500));
    assert.deepEqual(fake.transcriptions, [], 'no file job goes to the slot the stream holds through another gateway');
    assert.equal((await (await fetch(`${b.url}/api/jobs/${submitted.id}`)).json()).status, 'queued');
    fake.streams.idle(); // the worker gives the slot back after 3 s without speech
    await waitFor('the job to run once the slot is free', async () => (await (await fetch(`${b.url}/api/jobs/${submitted.id}`)).json()).status === 'succeeded');
    await client.close();
  } finally {
    await a.close();
    await b.close();
    await fake.close();
    await redis.stop();
  }
});

/** Leases on a worker's slots in Redis (redis/slots.ts), counted from outside. */
async function leases(url: string, prefix: string, worker: string): Promise<number> {
  const client = new Redis(url);
  try {
    return await client.zcard(`${prefix}:slots:${worker}`);
  } finally {
    client.disconnect();
  }
}

test('audio sent faster than it is transcribed: each refused append gets buffer_full, and a client that keeps on is disconnected (1008)', async () => {
  const { gw, fakes: [fake], stop } = await stack();
  try {
    const client = await RealtimeClient.connect(gw.url);
    await client.take('session.created');
    client.append(pcm(100));
    await client.take('input_audio_buffer.speech_started');
    fake!.streams.full = true; // the worker's stream holds all the undecoded audio it may
    client.append(pcm(5000), 'ev_flood_1');
    const refused = await client.error();
    assert.deepEqual([refused.type, refused.code, refused.param, refused.event_id], ['invalid_request_error', 'buffer_full', 'audio', 'ev_flood_1']);
    assert.match(refused.message, /faster than it is transcribed.*after 30 s of refused audio.*the session is closed/);
    fake!.streams.full = false; // decoding caught up: appends are taken again
    client.append(pcm(100));
    await client.take('conversation.item.input_audio_transcription.delta');
    assert.equal(client.socket.readyState, client.socket.OPEN, 'a refusal or two is no reason to close');
    fake!.streams.full = true;
    for (let i = 0; i < 6; i++) client.append(pcm(5000)); // with the first, 35 s refused
    const { code } = await client.closed;
    assert.equal(code, 1008);
    const last = client.received.filter((e) => e.type === 'error').at(-1)!;
    assert.match(last.error.message, /The session is closed/);
    await waitFor('the stream to be cancelled on the worker', () => fake!.streams.log.cancelled.length === 1);
    await waitFor('its slot to be given back', () => busy(gw)[0] === 0);
  } finally {
    await stop();
  }
});
