// OpenAI's parameters as the worker options they become, through app.inject()
// and a fake job system; the real path (the worker's answers) is in test/http-openai.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeDispatch, resultFor, type FakeDispatch } from '../../../test/fake-dispatch.ts';
import { injectable, multipart } from '../../../test/inject.ts';

async function post(url: string, fields: Record<string, string | string[]>, jobs: FakeDispatch = fakeDispatch()) {
  const server = await injectable({}, jobs);
  try {
    const response = await server.inject({ method: 'POST', url, ...(await multipart(fields)) });
    return { status: response.statusCode, body: response.body, json: () => response.json(), jobs: server.jobs };
  } finally {
    await server.close();
  }
}

const options = async (fields: Record<string, string | string[]>) => {
  const r = await post('/v1/audio/transcriptions', { model: 'base', ...fields });
  assert.equal(r.status, 200, r.body);
  return r.jobs.submitted[0]!.options;
};

test('keywords[] (or keywords) become hotwords, trimmed and joined with commas; none leaves hotwords unset', async () => {
  assert.equal((await options({ 'keywords[]': [' Dashwood ', 'Norland Park'] })).hotwords, 'Dashwood, Norland Park');
  assert.equal((await options({ keywords: 'Elinor' })).hotwords, 'Elinor');
  assert.equal('hotwords' in (await options({})), false);
  const long = await post('/v1/audio/transcriptions', { model: 'base', 'keywords[]': Array(60).fill('x'.repeat(200)) });
  assert.equal(long.status, 400);
  assert.equal(long.json().error.param, 'keywords[]');
});

test('languages[] become language_candidates, lower-cased and without repeats; a set language is passed beside them', async () => {
  assert.deepEqual((await options({ 'languages[]': ['DE', 'fr', 'de'] })).language_candidates, ['de', 'fr']);
  assert.deepEqual((await options({ languages: 'de' })).language_candidates, ['de']);
  const both = await options({ language: 'en', 'languages[]': ['de'] });
  assert.equal(both.language, 'en');
  assert.equal('language_candidates' in (await options({})), false);
});

test('include[]=logprobs asks for word timestamps; timestamp_granularities bare or bracketed', async () => {
  assert.equal((await options({ 'include[]': 'logprobs' })).word_timestamps, true);
  assert.equal((await options({ include: 'logprobs', stream: 'true' })).word_timestamps, true);
  assert.equal((await options({ timestamp_granularities: 'word', response_format: 'verbose_json' })).word_timestamps, true);
  assert.equal((await options({ timestamp_granularities: ['segment'] })).word_timestamps, false);
  assert.equal((await options({})).word_timestamps, false);
});

test('json with include[]=logprobs: one per word, as OpenAI shapes them; usage from the duration', async () => {
  const words = [{ word: ' And', start: 0, end: 0.3, probability: 0.5 }, { word: ' Été', start: 0.3, end: 0.9, probability: 0 }];
  const jobs = fakeDispatch((spec) => [
    { type: 'started', worker: 'fake:1', attempt: 1 },
    { type: 'done', result: { ...resultFor(spec), text: 'And Été', segments: [{ ...resultFor(spec).segments[0]!, text: ' And Été', words }] } },
  ]);
  const r = await post('/v1/audio/transcriptions', { model: 'base', 'include[]': 'logprobs' }, jobs);
  assert.deepEqual(r.json(), {
    text: 'And Été',
    logprobs: [
      { token: ' And', logprob: Math.log(0.5), bytes: [32, 65, 110, 100] },
      { token: ' Été', logprob: Math.log(0.00005), bytes: [32, 0xc3, 0x89, 116, 0xc3, 0xa9] }, // a rounded 0: the highest it can be
    ],
    usage: { type: 'duration', seconds: 2.5 },
  });
});

test('translations have no usage (OpenAI\'s Translation types have none) and no OpenAI-only transcription fields', async () => {
  const r = await post('/v1/audio/translations', { model: 'base' });
  assert.deepEqual(Object.keys(r.json()), ['text']);
  const refused = await post('/v1/audio/translations', { model: 'base', 'languages[]': 'de' });
  assert.equal(refused.status, 400);
  assert.equal(refused.json().error.code, 'unknown_parameter');
});
