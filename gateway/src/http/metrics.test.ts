// GET /metrics and the job log line through app.inject() and the fake job
// system: the output is parsed as Prometheus text (strictly: every sample
// belongs to a family with a TYPE line) and its values checked as jobs run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { fails, fakeDispatch, type FakeDispatch } from '../../test/fake-dispatch.ts';
import { injectable, multipart } from '../../test/inject.ts';

type Family = { type: string; help: string; samples: Array<{ name: string; labels: Record<string, string>; value: number }> };

/** Prometheus text format 0.0.4, strictly: throws on any line it does not understand. */
function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => families.get(name) ?? families.set(name, { type: '', help: '', samples: [] }).get(name)!;
  const unescape = (s: string) => s.replace(/\\(["\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      if (comment[1] === 'TYPE') {
        assert.match(comment[3]!, /^(counter|gauge|histogram|summary|untyped)$/, line);
        family(comment[2]!).type = comment[3]!;
      } else family(comment[2]!).help = comment[3]!;
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/.exec(line);
    assert.ok(sample, `not a Prometheus line: ${line}`);
    const [, name, rawLabels = '', rawValue] = sample;
    const labels: Record<string, string> = {};
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;
    let m: RegExpExecArray | null;
    let end = 0; // sticky matching: every character of the braces must belong to a label
    while ((m = labelRe.exec(rawLabels))) (labels[m[1]!] = unescape(m[2]!)), (end = labelRe.lastIndex);
    assert.equal(end, rawLabels.length, `bad labels: ${line}`);
    // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes 'Nan').
    const special = { nan: NaN, '+inf': Infinity, inf: Infinity, '-inf': -Infinity }[rawValue!.toLowerCase()];
    const value = special ?? Number(rawValue);
    assert.ok(special !== undefined || /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(rawValue!), `bad value: ${line}`);
    const owner = [name!, name!.replace(/_(bucket|sum|count)$/, '')].find((n) => families.get(n)?.type);
    assert.ok(owner, `sample before its TYPE line: ${line}`);
    families.get(owner)!.samples.push({ name: name!, labels, value });
  }
  return families;
}

/** The one sample of `name` whose labels include `labels` (undefined when none). */
function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const owner = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
  const found = owner?.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) ?? [];
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

test('the parser refuses what Prometheus would', () => {
  assert.throws(() => parsePrometheus('a_total 1\n'), /before its TYPE/);
  assert.throws(() => parsePrometheus('# TYPE a counter\na{x="1"y="2"} 1\n'), /bad labels/);
  assert.throws(() => parsePrometheus('# TYPE a counter\na one\n'), /bad value/);
  assert.throws(() => parsePrometheus('# TYPE a sometype\n'));
  const f = parsePrometheus('# HELP h_seconds x\n# TYPE h_seconds histogram\nh_seconds_bucket{le="+Inf",q="a\\"b"} 2\nh_seconds_count 2\n');
  assert.deepEqual(f.get('h_seconds')!.samples[0], { name: 'h_seconds_bucket', labels: { le: '+Inf', q: 'a"b' }, value: 2 });
});


async function app(jobs: FakeDispatch = fakeDispatch(), env: Record<string, string> = {}) {
  const logs: Array<Record<string, unknown>> = [];
  const stream = new Writable({ write(chunk, _enc, done) { for (const l of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(l)); done(); } });
  const server = await injectable(env, jobs, { level: 'info', stream });
  const scrape = async (headers: Record<string, string> = {}) => {
    const r = await server.inject({ method: 'GET', url: '/metrics', headers });
    assert.equal(r.statusCode, 200, r.body);
    assert.match(r.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
    return parsePrometheus(r.body);
  };
  const transcribe = async (fields: Record<string, string> = {}) => server.inject({ method: 'POST', url: '/api/transcribe', ...(await multipart(fields)) });
  return Object.assign(server, { jobs, logs, scrape, transcribe });
}

const NAMED: Record<string, string> = {
  whisper_http_requests_total: 'counter', whisper_http_request_duration_seconds: 'histogram',
  whisper_jobs_total: 'counter', whisper_jobs_queued: 'gauge', whisper_jobs_running: 'gauge', whisper_job_duration_seconds: 'histogram',
  whisper_audio_seconds_total: 'counter', whisper_realtime_factor: 'histogram',
  whisper_realtime_sessions_open: 'gauge', whisper_realtime_sessions_total: 'counter',
  whisper_worker_up: 'gauge', whisper_worker_slots: 'gauge', whisper_worker_running: 'gauge', whisper_worker_gpu_memory_bytes: 'gauge',
  whisper_gateway_process_cpu_user_seconds_total: 'counter', whisper_gateway_process_resident_memory_bytes: 'gauge', whisper_gateway_nodejs_eventloop_lag_seconds: 'gauge',
};

test('every metric is there with its TYPE line; process metrics carry the whisper_gateway_ prefix', async () => {
  const server = await app();
  try {
    const families = await server.scrape();
    for (const [name, type] of Object.entries(NAMED)) assert.equal(families.get(name)?.type, type, name);
    for (const [name, f] of families) assert.ok(name.startsWith('whisper_'), `${name} is not prefixed`), assert.ok(f.help, `${name} has no HELP`);
    for (const status of ['succeeded', 'failed', 'cancelled']) assert.equal(value(families, 'whisper_jobs_total', { status }), 0);
    for (const outcome of ['transcribed', 'empty', 'failed', 'refused']) assert.equal(value(families, 'whisper_realtime_sessions_total', { outcome }), 0);
    assert.equal(value(families, 'whisper_realtime_sessions_open'), 0);
    assert.equal(value(families, 'whisper_worker_up', { worker: 'fake:1' }), 1);
    assert.equal(families.get('whisper_worker_gpu_memory_bytes')!.samples.length, 0, 'a CPU worker has no GPU series');
  } finally {
    await server.close();
  }
});

test('a job moves the counters and histograms', async () => {
  const server = await app();
  try {
    assert.equal((await server.transcribe({ model: 'base' })).statusCode, 200);
    const f = await server.scrape();
    assert.equal(value(f, 'whisper_jobs_total', { status: 'succeeded' }), 1);
    assert.equal(value(f, 'whisper_audio_seconds_total', { model: 'base', task: 'transcribe' }), 2.5);
    assert.equal(value(f, 'whisper_http_requests_total', { route: '/api/transcribe', method: 'POST', status: '200' }), 1);
    assert.equal(value(f, 'whisper_http_request_duration_seconds_count', { route: '/api/transcribe', method: 'POST' }), 1);
    assert.equal(value(f, 'whisper_job_duration_seconds_count', { status: 'succeeded' }), 1);
    // The fake decodes 2.5 s of audio in 0.1 s: 25x real time.
    assert.equal(value(f, 'whisper_realtime_factor_count', { model: 'base' }), 1);
    assert.equal(value(f, 'whisper_realtime_factor_sum', { model: 'base' }), 25);
    assert.equal(value(f, 'whisper_realtime_factor_bucket', { model: 'base', le: '20' }), 0);
    assert.equal(value(f, 'whisper_realtime_factor_bucket', { model: 'base', le: '50' }), 1);
    // The first scrape's own request is counted by the time of the second.
    assert.equal(value(await server.scrape(), 'whisper_http_requests_total', { route: '/metrics', method: 'GET', status: '200' }), 1);
  } finally {
    await server.close();
  }
});

test('a failed job counts as failed and adds no audio', async () => {
  const server = await app(fakeDispatch(fails('undecodable_audio', 'not audio')));
  try {
    assert.equal((await server.transcribe()).statusCode, 400);
    const f = await server.scrape();
    assert.equal(value(f, 'whisper_jobs_total', { status: 'failed' }), 1);
    assert.equal(value(f, 'whisper_jobs_total', { status: 'succeeded' }), 0);
    assert.equal(f.get('whisper_audio_seconds_total')!.samples.length, 0);
    assert.equal(value(f, 'whisper_http_requests_total', { route: '/api/transcribe', method: 'POST', status: '400' }), 1);
    const line = server.logs.find((l) => l.msg === 'job finished')!;
    assert.equal(line.outcome, 'failed');
    assert.equal(line.error, 'undecodable_audio');
  } finally {
    await server.close();
  }
});

test('METRICS_TOKEN: 401 without it or with a wrong one, 200 with it', async () => {
  const server = await app(fakeDispatch(), { METRICS_TOKEN: 's3cret-token' });
  try {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 'Bearer s3cret-token-and-more' }, { authorization: 's3cret-token' }]) {
      const r = await server.inject({ method: 'GET', url: '/metrics', headers });
      assert.equal(r.statusCode, 401, JSON.stringify(headers));
      assert.equal(r.headers['www-authenticate'], 'Bearer');
      assert.deepEqual(Object.keys(r.json().error).sort(), ['code', 'message', 'param', 'type']);
      assert.equal(r.json().error.code, 'invalid_api_key');
      assert.equal(r.json().error.type, 'invalid_request_error');
      assert.doesNotMatch(r.body, /whisper_/);
    }
    const families = await server.scrape({ authorization: 'Bearer s3cret-token' });
    assert.ok(families.has('whisper_jobs_total'));
  } finally {
    await server.close();
  }
});

test('the route label is the pattern, never the raw URL; a path with no route is "unmatched"', async () => {
  const server = await app();
  try {
    for (const id of ['abc', 'def']) assert.equal((await server.inject({ method: 'GET', url: `/api/jobs/${id}?x=1` })).statusCode, 404);
    assert.equal((await server.inject({ method: 'GET', url: '/no/such/thing' })).statusCode, 404);
    const f = await server.scrape();
    assert.equal(value(f, 'whisper_http_requests_total', { route: '/api/jobs/:id', method: 'GET', status: '404' }), 2);
    assert.equal(value(f, 'whisper_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' }), 1);
    const routes = new Set(f.get('whisper_http_requests_total')!.samples.map((s) => s.labels.route));
    assert.deepEqual([...routes].sort(), ['/api/jobs/:id', 'unmatched']);
  } finally {
    await server.close();
  }
});

test('worker and queue gauges are read at scrape time: a worker that leaves leaves the output', async () => {
  const jobs = fakeDispatch();
  const view = jobs.workerViews[0]!;
  jobs.workerViews = [
    { ...view, address: 'gpu:9000', slots: 2, running: 1, device: 'cuda' },
    { ...view, address: 'cpu:9000', up: false, error: 'connection refused', slots: 1, running: 0 },
  ];
  // The real directory is the WorkerPool, whose list() has each worker's raw status (GPU memory is only there).
  const memory = (gpu: number | null) => ({ status: { memory: { gpu_used_bytes: gpu } } });
  Object.assign(jobs.directory, { list: () => [{ address: 'gpu:9000', ...memory(3 << 30) }, { address: 'cpu:9000', ...memory(null) }] });
  jobs.dispatcher.counts = () => ({ waiting: 4, running: 2 });
  const server = await app(jobs);
  try {
    let f = await server.scrape();
    assert.equal(value(f, 'whisper_jobs_queued'), 4);
    assert.equal(value(f, 'whisper_jobs_running'), 2);
    assert.equal(value(f, 'whisper_worker_up', { worker: 'gpu:9000' }), 1);
    assert.equal(value(f, 'whisper_worker_up', { worker: 'cpu:9000' }), 0);
    assert.equal(value(f, 'whisper_worker_slots', { worker: 'gpu:9000' }), 2);
    assert.equal(value(f, 'whisper_worker_running', { worker: 'gpu:9000' }), 1);
    assert.equal(value(f, 'whisper_worker_gpu_memory_bytes', { worker: 'gpu:9000' }), 3 << 30);
    assert.equal(value(f, 'whisper_worker_gpu_memory_bytes', { worker: 'cpu:9000' }), undefined, 'null GPU memory: no series');
    jobs.workerViews = jobs.workerViews.slice(0, 1);
    f = await server.scrape();
    assert.equal(value(f, 'whisper_worker_up', { worker: 'cpu:9000' }), undefined);
    assert.equal(value(f, 'whisper_worker_slots', { worker: 'cpu:9000' }), undefined);
    assert.equal(f.get('whisper_worker_up')!.samples.length, 1);
  } finally {
    await server.close();
  }
});

test('one log line per finished job, joined to its request by the job id; /metrics and /api/health are not logged at info', async () => {
  const server = await app();
  try {
    await server.transcribe({ model: 'base' });
    const finished = server.logs.filter((l) => l.msg === 'job finished');
    assert.equal(finished.length, 1);
    const line = finished[0]!;
    assert.equal(line.level, 30);
    assert.deepEqual(Object.keys(line).filter((k) => !['level', 'time', 'pid', 'hostname', 'msg'].includes(k)).sort(), ['attempts', 'audio_seconds', 'job', 'model', 'outcome', 'task', 'wall_seconds', 'worker']);
    assert.equal(line.model, 'base');
    assert.equal(line.task, 'transcribe');
    assert.equal(line.audio_seconds, 2.5);
    assert.equal(line.outcome, 'succeeded');
    assert.equal(line.attempts, 1);
    assert.equal(line.worker, 'fake:1');
    assert.ok(typeof line.wall_seconds === 'number' && line.wall_seconds >= 0);
    const submitted = server.logs.find((l) => l.msg === 'job submitted')!;
    assert.equal(submitted.job, line.job);
    const completed = server.logs.find((l) => l.msg === 'request completed' && l.reqId === submitted.reqId);
    assert.ok(completed, 'the submit line shares its reqId with the request line');

    const before = server.logs.length;
    await server.scrape();
    await server.inject({ method: 'GET', url: '/api/health' });
    assert.deepEqual(server.logs.slice(before), [], 'nothing logged at info for /metrics or /api/health');
    await server.inject({ method: 'GET', url: '/api/models' });
    assert.ok(server.logs.slice(before).some((l) => l.msg === 'request completed'), 'other routes still are');
  } finally {
    await server.close();
  }
});

test('two apps in one process keep separate registries', async () => {
  const [a, b] = [await app(), await app()];
  try {
    await a.transcribe();
    assert.equal(value(await a.scrape(), 'whisper_jobs_total', { status: 'succeeded' }), 1);
    assert.equal(value(await b.scrape(), 'whisper_jobs_total', { status: 'succeeded' }), 0);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
