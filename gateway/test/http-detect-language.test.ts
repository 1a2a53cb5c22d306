// POST /api/detect-language against a real worker with real weights, over real HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openAsBlob } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Value from 'typebox/value';
import { CLIP } from '../../test-support/worker.ts';
import { form, startGateway, workerAndGateway } from '../../test-support/gateway.ts';
import SPEECH from '../../test-support/speech.json' with { type: 'json' };
import { DetectedLanguage } from '../src/http/language-detection.ts';

const services = workerAndGateway();

const detect = (url: string, file: Blob | null, fields: Record<string, string> = {}, headers: Record<string, string> = {}) =>
  fetch(`${url}/api/detect-language`, { method: 'POST', body: form(file, fields), headers });

async function errorOf(response: Response): Promise<{ status: number; code: string; param: string | null }> {
  const { error } = await response.json();
  return { status: response.status, code: error.code, param: error.param };
}

function assertDetection(body: unknown, language: string): void {
  assert.ok(Value.Check(DetectedLanguage, body), `not the documented shape: ${JSON.stringify(body)}`);
  const d = body as DetectedLanguage;
  assert.equal(d.language, language, JSON.stringify(d));
  assert.ok(d.language_probability > 0.5 && d.language_probability <= 1, JSON.stringify(d));
  assert.ok(d.languages.length >= 2 && d.languages.length <= 10);
  assert.equal(d.languages[0]!.language, d.language);
  const ps = d.languages.map((l) => l.probability);
  assert.deepEqual(ps, [...ps].sort((a, b) => b - a), 'candidates are most likely first');
  assert.ok(ps.reduce((a, b) => a + b, 0) <= 1.001);
}

test('English speech: en, likely, candidates sorted; the worker ran detect_language, not transcribe', async () => {
  const response = await detect(services.gw.url, await openAsBlob(CLIP), { model: 'base' });
  assert.equal(response.status, 200);
  const body = await response.json();
  assertDetection(body, 'en');
  assert.equal(body.language_name, 'English');
  assert.equal(body.model, 'base');
  const commands = services.worker.requests().map((r) => r.command);
  assert.ok(commands.includes('detect_language') && !commands.includes('transcribe'), commands.join(', '));
});

test('German speech (espeak-ng) with the default model: de', async () => {
  const wav = path.join(mkdtempSync(path.join(tmpdir(), 'speech-')), 'de.wav');
  execFileSync('espeak-ng', ['-v', 'de', '-w', wav, SPEECH.de.text]);
  const response = await detect(services.gw.url, await openAsBlob(wav));
  assert.equal(response.status, 200);
  const body = await response.json();
  assertDetection(body, 'de');
  assert.equal(body.language_name, 'German');
});

test('refusals: no file, an empty file, not audio, an unknown model, an English-only model, an unknown field', async () => {
  assert.deepEqual(await errorOf(await detect(services.gw.url, null, { model: 'base' })), { status: 400, code: 'file_missing', param: null });
  assert.deepEqual(await errorOf(await detect(services.gw.url, new Blob([]))), { status: 400, code: 'file_empty', param: null });
  const text = new Blob(['this is a text file, not audio\n'.repeat(50)]);
  assert.deepEqual((await errorOf(await detect(services.gw.url, text))).code, 'undecodable_audio');
  assert.deepEqual(await errorOf(await detect(services.gw.url, await openAsBlob(CLIP), { model: 'no-such-model' })), { status: 400, code: 'unknown_model', param: 'model' });
  const englishOnly = await detect(services.gw.url, await openAsBlob(CLIP), { model: 'tiny.en' });
  assert.equal(englishOnly.status, 400);
  const { error } = await englishOnly.json();
  assert.equal(error.code, 'english_only_model');
  assert.match(error.message, /tiny\.en.*English-only/);
  assert.deepEqual(await errorOf(await detect(services.gw.url, await openAsBlob(CLIP), { language: 'de' })), { status: 400, code: 'invalid_parameter', param: 'language' });
});

test('the route is in the API document, with its answers', async () => {
  const doc = await (await fetch(`${services.gw.url}/openapi.json`)).json();
  const op = doc.paths['/api/detect-language']?.post;
  assert.ok(op, 'POST /api/detect-language is documented');
  for (const status of ['200', '400', '401', '429', '503', '504']) assert.ok(op.responses[status], `declares ${status}`);
});

test('with API keys set the route needs one', async () => {
  const keyed = await startGateway([services.worker.address], { API_KEYS: 'alice:sk-detect-test-1' });
  try {
    const clip = await openAsBlob(CLIP);
    assert.equal((await errorOf(await detect(keyed.url, clip, { model: 'tiny.en' }))).code, 'invalid_api_key');
    assert.equal((await errorOf(await detect(keyed.url, clip, { model: 'tiny.en' }, { authorization: 'Bearer wrong' }))).status, 401);
    // Past the key check: the form itself is judged.
    const withKey = await detect(keyed.url, clip, { model: 'tiny.en' }, { authorization: 'Bearer sk-detect-test-1' });
    assert.equal((await errorOf(withKey)).code, 'english_only_model');
  } finally {
    await keyed.close();
  }
});

test('no worker reachable: 503 no_worker, as for a transcription', async () => {
  const nowhere = await startGateway(['127.0.0.1:1']);
  try {
    const response = await detect(nowhere.url, await openAsBlob(CLIP), { model: 'base' });
    assert.deepEqual(await errorOf(response), { status: 503, code: 'no_worker', param: null });
  } finally {
    await nowhere.close();
  }
});
