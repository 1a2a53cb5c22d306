// Every route's status codes and error paths through app.inject() and a fake
// job system: no sockets, no Python, milliseconds. What crosses the wire is
// tested against the real worker in test/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fails, fakeDispatch, resultFor, type FakeDispatch } from '../../../test/fake-dispatch.ts';
import { injectable, multipart, WAV } from '../../../test/inject.ts';

async function app(jobs: FakeDispatch = fakeDispatch(), env: Record<string, string> = {}) {
  return injectable(env, jobs);
}

async function post(url: string, fields: Record<string, string | string[]> = {}, files?: Blob[], jobs?: FakeDispatch, env?: Record<string, string>) {
  const server = await app(jobs, env);
  try {
    const response = await server.inject({ method: 'POST', url, ...(await multipart(fields, files)) });
    return { status: response.statusCode, type: response.headers['content-type'] ?? '', body: response.body, json: () => response.json(), jobs: server.jobs };
  } finally {
    await server.close();
  }
}

test('a transcription: json by default, with the options passed on to the job', async () => {
  const r = await post('/api/transcribe', { model: 'tiny.en', language: 'EN', beam_size: '3', word_timestamps: 'true', prompt: 'Dashwood' });
  assert.equal(r.status, 200);
  assert.equal(r.json().text, 'And Mr. John Dashwood.');
  assert.deepEqual(r.jobs.submitted[0]!.options, { language: 'en', task: 'transcribe', word_timestamps: true, beam_size: 3, initial_prompt: 'Dashwood' });
  assert.equal(r.jobs.submitted[0]!.model, 'tiny.en');
});

test('batch_size reaches the worker as asked: 0 forces sequential decoding', async () => {
  const r = await post('/api/transcribe', { batch_size: '0' });
  assert.equal(r.status, 200);
  assert.equal(r.jobs.submitted[0]!.options.batch_size, 0);
  assert.equal((await post('/api/transcribe', {})).jobs.submitted[0]!.options.batch_size, undefined); // the worker's choice
});

for (const [format, type, start] of [
  ['text', 'text/plain', 'And Mr. John Dashwood.'],
  ['srt', 'application/x-subrip', '1\n00:00:00,000 --> 00:00:02,500\n'],
  ['vtt', 'text/vtt', 'WEBVTT\n\n00:00:00.000 --> 00:00:02.500\n'],
  ['tsv', 'text/tab-separated-values', 'start\tend\ttext\n0\t2500\t'],
  ['verbose_json', 'application/json', '{"task":"transcribe","language":"english"'],
] as const) {
  test(`response_format=${format}`, async () => {
    const r = await post('/api/transcribe', { response_format: format });
    assert.equal(r.status, 200);
    assert.ok(r.type.startsWith(type), r.type);
    assert.ok(r.body.startsWith(start), r.body);
  });
}

test('stream=true: Server-Sent Events in order, ending with the result', async () => {
  const r = await post('/api/transcribe', { stream: 'true' });
  assert.ok(r.type.startsWith('text/event-stream'));
  const events = [...r.body.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
  assert.deepEqual(events, ['started', 'info', 'segment', 'progress', 'result']);
});

const BAD_REQUESTS: Array<[string, Record<string, string | string[]>, Blob[], number, string, RegExp]> = [
  ['no file', {}, [], 400, 'file_missing', /field 'file'/],
  ['an empty file', {}, [new Blob([])], 400, 'file_empty', /empty/],
  ['two files', {}, [WAV, WAV], 400, 'invalid_parameter', /exactly one file/],
  ['an unknown field', { colour: 'blue' }, [WAV], 400, 'invalid_parameter', /unknown field 'colour'; accepted fields: file, model/],
  ['response_format=docx', { response_format: 'docx' }, [WAV], 400, 'invalid_parameter', /'response_format' must be one of: json, verbose_json, text, srt, vtt, tsv \(got "docx"\)/],
  ['task=summarise', { task: 'summarise' }, [WAV], 400, 'invalid_parameter', /'task' must be one of: transcribe, translate/],
  ['beam_size=99', { beam_size: '99' }, [WAV], 400, 'invalid_parameter', /'beam_size' must be a whole number from 1 to 20 \(got "99"\)/],
  ['batch_size=65', { batch_size: '65' }, [WAV], 400, 'invalid_parameter', /'batch_size' must be a whole number from 0 to 64 \(got "65"\)/],
  ['temperature=hot', { temperature: 'hot' }, [WAV], 400, 'invalid_parameter', /'temperature' must be a number from 0 to 1/],
  ['word_timestamps=maybe', { word_timestamps: 'maybe' }, [WAV], 400, 'invalid_parameter', /'word_timestamps' must be true or false/],
  // Multipart fields are read strictly by their type: no boolean passes as a number, no number as a boolean.
  ['max_line_count=true', { max_line_count: 'true' }, [WAV], 400, 'invalid_parameter', /'max_line_count' must be a whole number from 1 to 10 \(got "true"\)/],
  ['beam_size=2.5', { beam_size: '2.5' }, [WAV], 400, 'invalid_parameter', /'beam_size' must be a whole number from 1 to 20 \(got "2.5"\)/],
  ['temperature=0x1', { temperature: '0x1' }, [WAV], 400, 'invalid_parameter', /'temperature' must be a number from 0 to 1 \(got "0x1"\)/],
  ['vad_filter=1', { vad_filter: '1' }, [WAV], 400, 'invalid_parameter', /'vad_filter' must be true or false \(got "1"\)/],
  ['a field sent twice', { model: ['tiny', 'base'] }, [WAV], 400, 'invalid_parameter', /field 'model' was sent 2 times; send it once/],
  ['language=klingon', { language: 'klingon' }, [WAV], 400, 'unknown_language', /field 'language': 'klingon' is not a language Whisper knows.*\ben\b/],
  ['model=huge', { model: 'huge' }, [WAV], 400, 'unknown_model', /field 'model': 'huge' is not a model the workers know. Accepted: whisper-1, gpt-4o-transcribe-diarize, tiny/],
];

for (const [name, fields, files, status, code, message] of BAD_REQUESTS) {
  test(`400s say which field and what it accepts: ${name}`, async () => {
    const r = await post('/api/transcribe', fields, files);
    assert.equal(r.status, status);
    const { error } = r.json();
    assert.equal(error.code, code);
    assert.match(error.message, message);
    assert.equal(error.type, 'invalid_request_error');
    assert.equal(r.jobs.submitted.length, 0, 'nothing reaches the queue');
  });
}

test("faster-whisper's knobs reach the worker's options under its names; the VAD's flat fields as its parameters", async () => {
  const r = await post('/api/transcribe', {
    hotwords: 'Dashwood Norland', initial_prompt: 'Sense and Sensibility.', condition_on_previous_text: 'false',
    no_speech_threshold: '0.45', log_prob_threshold: '-0.8', compression_ratio_threshold: '2.2',
    vad_threshold: '0.7', min_silence_duration_ms: '800', speech_pad_ms: '200',
  });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(r.jobs.submitted[0]!.options, {
    language: null, task: 'transcribe', word_timestamps: false, hotwords: 'Dashwood Norland', initial_prompt: 'Sense and Sensibility.',
    condition_on_previous_text: false, no_speech_threshold: 0.45, log_prob_threshold: -0.8, compression_ratio_threshold: 2.2,
    vad_filter: true, vad_parameters: { threshold: 0.7, min_silence_duration_ms: 800, speech_pad_ms: 200 },
  });
  // The same fields on a job; prompt and initial_prompt are one option.
  const job = await post('/api/jobs', { prompt: 'Dashwood', initial_prompt: 'Dashwood', speech_pad_ms: '0', vad_filter: 'true' });
  assert.equal(job.status, 202, job.body);
  assert.deepEqual(job.jobs.submitted[0]!.options, { language: null, task: 'transcribe', word_timestamps: false, initial_prompt: 'Dashwood', vad_filter: true, vad_parameters: { speech_pad_ms: 0 } });
});

const KNOB_REQUESTS: Array<[Record<string, string>, string, RegExp]> = [
  [{ vad_filter: 'false', vad_threshold: '0.9' }, 'vad_threshold', /'vad_threshold' tunes the VAD, which vad_filter=false turns off/],
  [{ prompt: 'a', initial_prompt: 'b' }, 'initial_prompt', /'prompt' and 'initial_prompt' are the same option and differ/],
  [{ vad_threshold: '1.5' }, 'vad_threshold', /'vad_threshold' must be a number from 0 to 1/],
  [{ speech_pad_ms: '20.5' }, 'speech_pad_ms', /'speech_pad_ms' must be a whole number from 0 to 10000/],
  [{ no_speech_threshold: '2' }, 'no_speech_threshold', /'no_speech_threshold' must be a number from 0 to 1/],
  [{ log_prob_threshold: '0.5' }, 'log_prob_threshold', /'log_prob_threshold' must be a number from -100 to 0/],
  [{ condition_on_previous_text: 'no' }, 'condition_on_previous_text', /'condition_on_previous_text' must be true or false/],
];
for (const [fields, param, message] of KNOB_REQUESTS) {
  test(`a knob out of its bounds or at odds with another is refused, naming it: ${JSON.stringify(fields)}`, async () => {
    const r = await post('/api/transcribe', fields);
    assert.equal(r.status, 400, r.body);
    assert.equal(r.json().error.param, param);
    assert.match(r.json().error.message, message);
    assert.equal(r.jobs.submitted.length, 0);
  });
}

test('multipart numbers and booleans in their text forms: decimals, exponents, TRUE', async () => {
  const r = await post('/api/transcribe', { temperature: '2.5e-1', beam_size: '+3', max_line_count: '03', vad_filter: 'TRUE', word_timestamps: 'false' });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(r.jobs.submitted[0]!.options, { language: null, task: 'transcribe', word_timestamps: false, vad_filter: true, beam_size: 3, temperature: 0.25 });
});

test('a file over MAX_UPLOAD_BYTES gets 413 naming the limit', async () => {
  const r = await post('/api/transcribe', {}, [new Blob([Buffer.alloc(2048)])], undefined, { MAX_UPLOAD_BYTES: '1024' });
  assert.equal(r.status, 413);
  assert.match(r.json().error.message, /1024 bytes.*MAX_UPLOAD_BYTES/);
});

test('a body that is not multipart, or multipart without its boundary, is the client\'s mistake', async () => {
  const server = await app();
  try {
    const json = await server.inject({ method: 'POST', url: '/api/transcribe', payload: { file: 'x' } });
    assert.equal(json.statusCode, 400);
    assert.match(json.json().error.message, /multipart\/form-data/);
    const noBoundary = await server.inject({ method: 'POST', url: '/api/transcribe', payload: 'abc', headers: { 'content-type': 'multipart/form-data' } });
    assert.equal(noBoundary.statusCode, 400);
    assert.match(noBoundary.json().error.message, /could not be read \(Boundary not found\)/);
    const cut = await server.inject({
      method: 'POST', url: '/api/transcribe', headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
      payload: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF',
    });
    assert.equal(cut.statusCode, 400);
    assert.equal(cut.json().error.code, 'bad_request');
  } finally {
    await server.close();
  }
});

for (const [code, status, message] of [
  ['undecodable_audio', 400, /could not be decoded/],
  ['model_unavailable', 400, /put it in models\/medium/],
  ['no_worker', 503, /No Whisper worker/],
  ['overloaded', 503, /busy/],
  ['internal', 500, /its log has the details/],
] as const) {
  test(`a job that fails with ${code} answers ${status}`, async () => {
    const detail = { undecodable_audio: 'The file could not be decoded as audio or video.', model_unavailable: 'put it in models/medium', no_worker: 'No Whisper worker is reachable', overloaded: 'all slots are busy', internal: 'Traceback …' }[code];
    const r = await post('/api/transcribe', {}, [WAV], fakeDispatch(fails(code, detail)));
    assert.equal(r.status, status);
    assert.equal(r.json().error.code, code);
    assert.match(r.json().error.message, message);
    assert.doesNotMatch(r.json().error.message, /Traceback/, 'internal details stay in the log');
  });
}

test('OpenAI: json is {text, usage}, a translation asks for task=translate, model is required', async () => {
  const r = await post('/v1/audio/transcriptions', { model: 'whisper-1' });
  assert.deepEqual(r.json(), { text: 'And Mr. John Dashwood.', usage: { type: 'duration', seconds: 2.5 } });
  assert.equal(r.jobs.submitted[0]!.model, 'base', 'whisper-1 is an alias of base');
  const t = await post('/v1/audio/translations', { model: 'base' });
  assert.equal(t.jobs.submitted[0]!.options.task, 'translate');
  const granularity = await post('/v1/audio/transcriptions', { model: 'base', 'timestamp_granularities[]': 'sentence' });
  assert.match(granularity.json().error.message, /field 'timestamp_granularities\[\]' must be one or more of: word, segment/);
  // One part of a list field is a list of one (what the SDKs send for ['word']).
  const words = await post('/v1/audio/transcriptions', { model: 'base', 'timestamp_granularities[]': 'word' });
  assert.equal(words.status, 200, words.body);
  assert.equal(words.jobs.submitted[0]!.options.word_timestamps, true);
  const missing = await post('/v1/audio/transcriptions', {});
  assert.equal(missing.status, 400);
  assert.match(missing.json().error.message, /field 'model'/);
});

test('OpenAI verbose_json names the language in English and lists words when asked', async () => {
  // A job runs before it ends (jobs/lifecycle.ts refuses queued → succeeded), as every worker's job does.
  const jobs = fakeDispatch((spec) => [{ type: 'started', worker: 'fake:1', attempt: 1 }, { type: 'done', result: { ...resultFor(spec), segments: [{ ...resultFor(spec).segments[0]!, words: [{ word: ' And', start: 0, end: 0.3, probability: 0.9 }] }] } }]);
  const r = await post('/v1/audio/transcriptions', { model: 'base', response_format: 'verbose_json', 'timestamp_granularities[]': ['word', 'segment'] }, [WAV], jobs);
  const body = r.json();
  assert.equal(body.language, 'english');
  assert.deepEqual(body.words, [{ word: 'And', start: 0, end: 0.3 }]);
});

test('models, languages, health and the OpenAI model list come from the workers and the schema', async () => {
  const jobs = fakeDispatch();
  const server = await app(jobs);
  try {
    const models = (await server.inject('/api/models')).json();
    assert.equal(models.default, 'base');
    assert.deepEqual(models.models.find((m: { name: string }) => m.name === 'base'), { name: 'base', available: true, loaded: true, workers: ['fake:1'], multilingual: true, languages: ['en', 'de'] });
    assert.deepEqual(models.models.find((m: { name: string }) => m.name === 'tiny.en').languages, ['en']);
    const languages = (await server.inject('/api/languages')).json().languages;
    assert.equal(languages.length, 100);
    assert.deepEqual(languages.find((l: { code: string }) => l.code === 'de'), { code: 'de', name: 'German' });
    const openai = (await server.inject('/v1/models')).json();
    assert.deepEqual(openai.data.map((m: { id: string }) => m.id), ['whisper-1', 'gpt-4o-transcribe-diarize', 'tiny', 'tiny.en', 'base', 'small', 'large-v3']);
    assert.equal((await server.inject('/api/health')).statusCode, 200);
    jobs.workerViews = [{ ...jobs.workerViews[0]!, up: false, error: 'connection refused' }];
    const down = await server.inject('/api/health');
    assert.equal(down.statusCode, 503);
    assert.equal(down.json().status, 'unavailable');
  } finally {
    await server.close();
  }
});

test('subtitles from posted segments use the response_format renderer', async () => {
  const server = await app();
  try {
    const segments = [{ start: 0, end: 4, text: ' Mrs. John Dashwood now installed herself mistress of Norland.' }];
    const srt = await server.inject({ method: 'POST', url: '/api/subtitles', payload: { format: 'srt', segments, max_line_width: 20 } });
    assert.equal(srt.statusCode, 200);
    assert.match(srt.headers['content-type'] as string, /application\/x-subrip/);
    assert.ok(srt.body.split('\n').filter((line) => /[a-z]/i.test(line)).every((line) => line.length <= 20), srt.body);
    const vtt = await server.inject({ method: 'POST', url: '/api/subtitles', payload: { format: 'vtt', segments } });
    assert.match(vtt.body, /^WEBVTT\n\n00:00:00\.000 --> /);
    for (const [payload, message] of [
      [{ format: 'docx', segments }, /field 'format' must be one of: srt, vtt, tsv, text \(got "docx"\)/],
      [{ format: 'srt' }, /field 'segments' is required/],
      [{ format: 'srt', segments: [{ start: 'zero', end: 1, text: '' }] }, /field 'segments\[0\]\.start' must be a number/],
      [{ format: 'srt', segments, colour: 1 }, /unknown field 'colour'/],
      // A JSON body is taken as sent: null or "1" is no number, as the document says.
      [{ format: 'srt', segments: [{ start: null, end: 1, text: '' }] }, /field 'segments\[0\]\.start' must be a number of at least 0 \(got null\)/],
      [{ format: 'srt', segments, max_line_count: '2' }, /field 'max_line_count' must be a whole number from 1 to 10 \(got "2"\)/],
    ] as const) {
      const bad = await server.inject({ method: 'POST', url: '/api/subtitles', payload });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().error.message, message);
    }
  } finally {
    await server.close();
  }
});

test('unknown routes get a JSON 404; the OpenAPI document lists every route', async () => {
  const server = await app();
  try {
    const missing = await server.inject('/api/nothing');
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'not_found');
    // Whatever is wrong with the body of a request no route takes (QUERY needs a Content-Type), the answer is about the route.
    const query = await server.inject({ method: 'QUERY' as 'GET', url: '/api/models' });
    assert.equal(query.statusCode, 405);
    assert.equal(query.headers.allow, 'GET, HEAD');
    assert.equal(query.json().error.code, 'method_not_allowed');
    const odd = await server.inject({ method: 'PUT', url: '/api/nothing', payload: 'x', headers: { 'content-type': 'application/x-unknown' } });
    assert.equal(odd.statusCode, 404);
    assert.equal(odd.json().error.code, 'not_found');
    const paths = Object.keys((await server.inject('/openapi.json')).json().paths);
    for (const p of ['/api/models', '/api/languages', '/api/health', '/api/transcribe', '/api/subtitles', '/api/jobs', '/api/jobs/{id}', '/api/jobs/{id}/result', '/api/jobs/{id}/events', '/v1/audio/transcriptions', '/v1/audio/translations', '/v1/models']) {
      assert.ok(paths.includes(p), p);
    }
  } finally {
    await server.close();
  }
});
