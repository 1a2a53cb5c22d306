// faster-whisper's knobs on the original API, against a real worker with real weights: each one changes what the
// worker does, not only what the gateway sends (routes.test.ts checks what it sends, field by field).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openAsBlob } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLIP, SHORT_CLIP } from '../../test-support/worker.ts';
import { form, workerAndGateway } from '../../test-support/gateway.ts';

const services = workerAndGateway();

async function transcribe(fields: Record<string, string>, clip = CLIP): Promise<any> {
  const response = await fetch(`${services.gw.url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(clip), { model: 'base', language: 'en', ...fields }) });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body;
}
const words = (body: { text: string }) => body.text.split(/\s+/).filter(Boolean).length;

test('vad_threshold: on quiet speech, 0.99 leaves Silero less speech than its default, so Whisper writes fewer words', async () => {
  const quiet = path.join(mkdtempSync(path.join(tmpdir(), 'knobs-')), 'quiet.wav');
  execFileSync('sox', [SHORT_CLIP, quiet, 'vol', '-32dB']); // the LibriVox reader, 32 dB down
  const usual = await transcribe({ vad_filter: 'true' }, quiet);
  const strict = await transcribe({ vad_threshold: '0.99' }, quiet);
  assert.ok(words(usual) >= 4, `Silero's default threshold hears the quiet reader: ${JSON.stringify(usual.text)}`);
  assert.ok(words(strict) < words(usual), `0.99 (${JSON.stringify(strict.text)}) against the default (${JSON.stringify(usual.text)})`);
});

test('log_prob_threshold=0 fails every decoding (no text is that sure), so each segment falls back to a higher temperature', async () => {
  const body = await transcribe({ log_prob_threshold: '0', response_format: 'verbose_json' });
  assert.ok(body.segments.length >= 1);
  assert.ok(body.segments.every((s: { temperature: number }) => s.temperature > 0), JSON.stringify(body.segments.map((s: any) => s.temperature)));
});

test('compression_ratio_threshold=0 calls every text a loop: the same fallback', async () => {
  const body = await transcribe({ compression_ratio_threshold: '0', response_format: 'verbose_json' });
  assert.ok(body.segments.every((s: { temperature: number }) => s.temperature > 0), JSON.stringify(body.segments.map((s: any) => s.temperature)));
});

test('hotwords, initial_prompt, condition_on_previous_text=false, no_speech_threshold and the VAD parameters reach the worker as asked', async () => {
  const body = await transcribe({
    hotwords: 'Dashwood', initial_prompt: 'Sense and Sensibility.', condition_on_previous_text: 'false', no_speech_threshold: '0.5',
    vad_threshold: '0.4', min_silence_duration_ms: '1000', speech_pad_ms: '300',
  });
  assert.match(body.text.toLowerCase(), /dashwood/);
  // The worker logs the options a request set away from their defaults (text by its length only).
  const logged = services.worker.requests().filter((r) => r.command === 'transcribe').at(-1)!;
  assert.deepEqual(logged.options, {
    hotwords: '8 chars', initial_prompt: '22 chars', condition_on_previous_text: false, no_speech_threshold: 0.5,
    vad_parameters: { threshold: 0.4, min_silence_duration_ms: 1000, speech_pad_ms: 300 }, // vad_filter: on by default
  });
});

test('a knob the worker would refuse never reaches it: the gateway answers 400 naming the field', async () => {
  const response = await fetch(`${services.gw.url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(SHORT_CLIP), { min_silence_duration_ms: '-1' }) });
  assert.equal(response.status, 400);
  assert.equal((await response.json()).error.param, 'min_silence_duration_ms');
});
