// The jobs API's status codes and error paths through app.inject() and a fake
// job system (real SQLite in a temp DATA_DIR); the real worker, restarts and
// webhooks are tested over the wire in test/http-jobs.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from '../../app.ts';
import { loadConfig } from '../../config.ts';
import { fakeDispatch, hangs, succeeds, type FakeDispatch, type Script } from '../../../test/fake-dispatch.ts';
import { waitFor } from '../../../../test-support/wait.ts';
import { injectable, multipart, WAV } from '../../../test/inject.ts';
import type { AddressInfo } from 'node:net';
import { SqliteStore } from '../../jobs/sqlite-store.ts';
import { storageError } from '../../jobs/audio-files.ts';

const gateway = (jobs: FakeDispatch = fakeDispatch(), env: Record<string, string> = {}) => injectable(env, jobs);

type App = Awaited<ReturnType<typeof gateway>>;
const submit = async (app: App, fields: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/api/jobs', ...(await multipart(fields)) });
const job = async (app: Pick<App, 'inject'>, id: string) => (await app.inject(`/api/jobs/${id}`)).json();

test('submit: 202 with Location and the job; it runs, and its result comes in every format', async () => {
  const app = await gateway();
  try {
    const response = await submit(app, { model: 'tiny.en', response_format: 'srt' });
    assert.equal(response.statusCode, 202);
    const created = response.json();
    assert.equal(response.headers.location, `/api/jobs/${created.id}`);
    assert.deepEqual([created.status, created.model, created.task, created.filename, created.attempts], ['queued', 'tiny.en', 'transcribe', 'talk.wav', 0]);
    const done = await waitFor('the job to succeed', async () => ((await job(app, created.id)).status === 'succeeded' ? job(app, created.id) : null));
    assert.equal(done.result.text, 'And Mr. John Dashwood.');
    assert.deepEqual(done.progress, { processed: 2.5, duration: 2.5 });
    assert.equal(done.language, 'en');
    const srt = await app.inject(`/api/jobs/${created.id}/result`);
    assert.match(srt.body, /^1\n00:00:00,000 --> 00:00:02,500\nAnd Mr. John Dashwood\.\n/, 'its own response_format by default');
    const json = await app.inject(`/api/jobs/${created.id}/result?format=json`);
    assert.equal(json.json().text, 'And Mr. John Dashwood.');
    const bad = await app.inject(`/api/jobs/${created.id}/result?format=docx`);
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error.message, /'format' must be one of: json, verbose_json/);
  } finally {
    await app.close();
  }
});

test('events: every SSE event has an id, and Last-Event-ID resumes after it', async () => {
  const app = await gateway();
  try {
    const { id } = (await submit(app)).json();
    await waitFor('the job to succeed', async () => (await job(app, id)).status === 'succeeded');
    const all = await app.inject(`/api/jobs/${id}/events`);
    const ids = [...all.body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    const names = [...all.body.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    assert.deepEqual(names, ['started', 'info', 'segment', 'progress', 'result']);
    assert.deepEqual(ids, [1, 2, 3, 4, 5]);
    const resumed = await app.inject({ url: `/api/jobs/${id}/events`, headers: { 'last-event-id': '2' } });
    assert.deepEqual([...resumed.body.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]), ['segment', 'progress', 'result']);
  } finally {
    await app.close();
  }
});

test('a job not finished: its result is 409; DELETE cancels it; DELETE again removes it', async () => {
  const app = await gateway(fakeDispatch(hangs));
  try {
    const { id } = (await submit(app)).json();
    await waitFor('the job to run', async () => (await job(app, id)).status === 'running');
    const early = await app.inject(`/api/jobs/${id}/result`);
    assert.equal(early.statusCode, 409);
    assert.match(early.json().error.message, /is running: its result exists once it has succeeded/);
    const cancelled = await app.inject({ method: 'DELETE', url: `/api/jobs/${id}` });
    assert.equal(cancelled.statusCode, 202);
    assert.equal(cancelled.json().status, 'cancelled');
    const again = await app.inject({ method: 'POST', url: `/api/jobs/${id}/cancel` });
    assert.equal(again.statusCode, 409, 'cancel never deletes a finished job');
    assert.match(again.json().error.message, /already been cancelled/);
    assert.equal((await app.inject(`/api/jobs/${id}/result`)).json().error.code, 'job_failed');
    assert.equal((await app.inject({ method: 'DELETE', url: `/api/jobs/${id}` })).statusCode, 204);
    const gone = await app.inject(`/api/jobs/${id}`);
    assert.equal(gone.statusCode, 404);
    assert.match(gone.json().error.message, /JOB_RETENTION_HOURS/);
  } finally {
    await app.close();
  }
});

test('the list: newest first, by status, a page at a time; synchronous requests are jobs too', async () => {
  const app = await gateway();
  try {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await submit(app)).json().id);
    await app.inject({ method: 'POST', url: '/api/transcribe', ...(await multipart()) });
    await waitFor('all to succeed', async () => (await app.inject('/api/jobs?status=succeeded')).json().jobs.length === 4);
    const first = (await app.inject('/api/jobs?limit=2')).json();
    assert.equal(first.jobs.length, 2);
    const second = (await app.inject(`/api/jobs?limit=2&cursor=${first.next_cursor}`)).json();
    assert.deepEqual([...first.jobs, ...second.jobs].slice(1).map((j: { id: string }) => j.id), [...ids].reverse());
    assert.equal(second.next_cursor, null);
    assert.equal((await app.inject('/api/jobs?status=queued')).json().jobs.length, 0);
    const bad = await app.inject('/api/jobs?status=lost');
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error.message, /'status' must be one of: queued, running, succeeded, failed, cancelled/);
  } finally {
    await app.close();
  }
});

test('the list searched (q) and filtered (model, since, until); a query or date it cannot take is a 400 naming the field', async () => {
  const app = await gateway();
  try {
    const id = (await submit(app, { model: 'tiny.en' })).json().id;
    await waitFor('the job to succeed', async () => (await job(app, id)).status === 'succeeded');
    const found = (await app.inject('/api/jobs?q=dashwood')).json();
    assert.deepEqual(found.jobs.map((j: { id: string }) => j.id), [id]);
    assert.deepEqual(found.jobs[0].matches, [{ segment_id: 0, start: 0, end: 2.5, text: 'And Mr. John Dashwood.' }]);
    assert.equal(found.jobs[0].result.text, 'And Mr. John Dashwood.', 'the whole job object');
    assert.equal(found.next_cursor, null);
    assert.equal((await app.inject('/api/jobs')).json().jobs[0].matches, undefined, 'no matches without q');
    for (const q of ['nothing', '"a" OR b*', 'NEAR(', '%22%20AND']) assert.deepEqual((await app.inject(`/api/jobs?q=${encodeURIComponent(q)}`)).json().jobs, [], q);
    assert.equal((await app.inject('/api/jobs?q=john&status=failed')).json().jobs.length, 0);
    assert.equal((await app.inject('/api/jobs?q=john&model=tiny.en')).json().jobs.length, 1);
    assert.equal((await app.inject('/api/jobs?model=tiny.en')).json().jobs.length, 1);
    assert.equal((await app.inject('/api/jobs?model=base')).json().jobs.length, 0);
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    assert.equal((await app.inject(`/api/jobs?since=${hourAgo}`)).json().jobs.length, 1);
    assert.equal((await app.inject(`/api/jobs?q=john&until=${hourAgo}`)).json().jobs.length, 0);
    assert.equal((await app.inject(`/api/jobs?since=${encodeURIComponent('2020-01-01T01:00:00+01:00')}&until=2099-12-31T23:59:60Z`)).json().jobs.length, 1, 'an offset; a leap second');
    for (const [query, field, message] of [
      ['q=', 'q', /'q' must be text of 1 to 200 characters/],
      [`q=${'a'.repeat(201)}`, 'q', /'q' must be text of 1 to 200 characters/],
      ['since=yesterday', 'since', /'since' must be a date-time, as 2026-01-31T09:00:00Z/],
      ['until=2026-13-45T99:00:00Z', 'until', /'until' must be a date-time/],
      ['q=a&cursor=x&nope=1', 'nope', /unknown field 'nope'/],
    ] as const) {
      const bad = await app.inject(`/api/jobs?${query}`);
      assert.equal(bad.statusCode, 400, query);
      assert.equal(bad.json().error.param, field, query);
      assert.match(bad.json().error.message, message, query);
    }
  } finally {
    await app.close();
  }
});

test('callback_url: refused while webhooks are off, and for hosts not allowed', async () => {
  const off = await gateway();
  try {
    const r = await submit(off, { callback_url: 'http://127.0.0.1:9/hook' });
    assert.equal(r.statusCode, 400);
    assert.match(r.json().error.message, /webhooks are off.*WEBHOOK_ALLOWED_HOSTS/);
  } finally {
    await off.close();
  }
  const on = await gateway(fakeDispatch(), { WEBHOOK_ALLOWED_HOSTS: 'hooks.example.com', WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
  try {
    const r = await submit(on, { callback_url: 'http://169.254.169.254/latest/meta-data' });
    assert.equal(r.statusCode, 400);
    assert.equal(r.json().error.param, 'callback_url');
    assert.match(r.json().error.message, /hooks\.example\.com/);
    assert.equal(on.jobs.submitted.length, 0, 'nothing was queued');
  } finally {
    await on.close();
  }
});

test('a failed write of the upload: a clear 503, nothing half-stored, and the next upload works', async () => {
  const app = await gateway();
  try {
    const uploads = path.join(app.dataDir, 'uploads');
    rmSync(uploads, { recursive: true });
    writeFileSync(uploads, 'not a folder'); // every write under it now fails
    const r = await submit(app);
    assert.equal(r.statusCode, 503);
    assert.equal(r.json().error.code, 'storage_unavailable');
    assert.equal(r.headers['retry-after'], '5');
    assert.equal((await app.inject('/api/jobs')).json().jobs.length, 0);
    rmSync(uploads);
    mkdirSync(uploads);
    assert.equal((await submit(app)).statusCode, 202);
    await waitFor('the upload\'s folder to go (its file moved to audio/)', () => readdirSync(uploads).length === 0);
  } finally {
    await app.close();
  }
});

test('POST /cancel stops a running job', async () => {
  const app = await gateway(fakeDispatch(hangs));
  try {
    const { id } = (await submit(app)).json();
    await waitFor('the job to run', async () => (await job(app, id)).status === 'running');
    const r = await app.inject({ method: 'POST', url: `/api/jobs/${id}/cancel` });
    assert.equal(r.statusCode, 202);
    assert.equal(r.json().status, 'cancelled');
  } finally {
    await app.close();
  }
});

test('unknown jobs are 404 on every route', async () => {
  const app = await gateway();
  try {
    for (const url of ['/api/jobs/nope', '/api/jobs/nope/result', '/api/jobs/nope/events']) assert.equal((await app.inject(url)).statusCode, 404, url);
    assert.equal((await app.inject({ method: 'DELETE', url: '/api/jobs/nope' })).statusCode, 404);
  } finally {
    await app.close();
  }
});

test('while draining, new work gets 503 with Retry-After and the list still answers', async () => {
  const app = await gateway();
  try {
    await app.jobService.drain(0);
    const r = await submit(app);
    assert.equal(r.statusCode, 503);
    assert.equal(r.json().error.code, 'shutting_down');
    assert.equal(r.headers['retry-after'], '5');
    assert.equal((await app.inject('/api/jobs')).statusCode, 200);
  } finally {
    await app.close();
  }
});

test('retention: finished jobs older than JOB_RETENTION_HOURS are purged with their events; others stay', async () => {
  const app = await gateway(fakeDispatch(), { JOB_RETENTION_HOURS: '1' });
  try {
    const { id } = (await submit(app)).json();
    await waitFor('the job to succeed', async () => (await job(app, id)).status === 'succeeded');
    assert.equal(await app.jobService.purge(), 0, 'not yet an hour old');
    app.jobs.script = hangs;
    const running = (await submit(app)).json().id;
    await waitFor('the second job to run', async () => (await job(app, running)).status === 'running');
    assert.equal(await app.jobService.purge(Date.now() + 2 * 3_600_000), 1);
    assert.equal((await app.inject(`/api/jobs/${id}`)).statusCode, 404);
    assert.equal((await app.inject(`/api/jobs/${id}/events`)).statusCode, 404);
    assert.equal((await job(app, running)).status, 'running', 'a job still running is never purged');
    assert.deepEqual(readdirSync(path.join(app.dataDir, 'audio')), [running], 'only the running job keeps its audio');
  } finally {
    await app.close();
  }
});

test('by default a succeeded job\'s audio is kept through the sweep, for playback; an hour-old orphan goes', async () => {
  const app = await gateway(fakeDispatch(), { JOB_RETENTION_HOURS: '0' });
  try {
    const { id } = (await submit(app)).json();
    await waitFor('the job to succeed', async () => (await job(app, id)).status === 'succeeded');
    const audio = path.join(app.dataDir, 'audio');
    writeFileSync(path.join(audio, 'no-such-job'), 'RIFF');
    await app.jobService.purge(Date.now() + 2 * 3_600_000);
    assert.deepEqual(readdirSync(audio), [id]);
  } finally {
    await app.close();
  }
});

test('KEEP_AUDIO=false: audio a crash left behind is swept: a finished job\'s at once, one with no job once an hour old; a live job\'s audio stays', async () => {
  const app = await gateway(fakeDispatch(), { JOB_RETENTION_HOURS: '0', KEEP_AUDIO: 'false' });
  try {
    const { id } = (await submit(app)).json();
    await waitFor('the job to succeed', async () => (await job(app, id)).status === 'succeeded');
    app.jobs.script = hangs;
    const running = (await submit(app)).json().id;
    await waitFor('the second job to run', async () => (await job(app, running)).status === 'running');
    const audio = path.join(app.dataDir, 'audio');
    for (const orphan of [id, 'no-such-job']) writeFileSync(path.join(audio, orphan), 'RIFF');
    await app.jobService.purge();
    assert.deepEqual(readdirSync(audio).sort(), ['no-such-job', running].sort(), 'with no job and not yet an hour old: it may be an upload whose record is being written');
    await app.jobService.purge(Date.now() + 2 * 3_600_000);
    assert.deepEqual(readdirSync(audio), [running]);
    assert.equal((await job(app, id)).status, 'succeeded', 'with JOB_RETENTION_HOURS=0 the finished job itself stays');
  } finally {
    await app.close();
  }
});

test('a restart finds jobs that were running: run again from the start, or failed once 3 attempts are spent', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'jobs-restart-'));
  const store = new SqliteStore(path.join(dataDir, 'jobs.sqlite'));
  const request = { model: 'base', options: {}, filename: 'a.wav', audio_bytes: 4, callback_url: null, source: 'jobs' as const };
  mkdirSync(path.join(dataDir, 'audio'));
  for (const id of ['once', 'thrice']) writeFileSync(path.join(dataDir, 'audio', id), 'RIFF');
  await store.create('once', request, path.join(dataDir, 'audio', 'once'));
  await store.markRunning('once', 1);
  await store.create('thrice', request, path.join(dataDir, 'audio', 'thrice'));
  await store.markRunning('thrice', 3);
  await store.close();
  const jobs = fakeDispatch();
  const app = await build({ config: loadConfig({ WEB_DIR: '/nonexistent', DATA_DIR: dataDir }), dispatch: jobs, logger: false });
  try {
    const once = await waitFor('the interrupted job to finish', async () => ((await job(app, 'once')).status === 'succeeded' ? job(app, 'once') : null));
    assert.equal(jobs.submitted.find((s) => s.id === 'once')?.previousAttempts, 1, 'its first attempt counts');
    assert.equal(once.result.text, 'And Mr. John Dashwood.');
    const thrice = (await app.inject('/api/jobs/thrice')).json();
    assert.deepEqual([thrice.status, thrice.error.code], ['failed', 'internal']);
    assert.match(thrice.error.message, /started 3 times and its gateway or worker stopped each time/);
    assert.ok(!jobs.submitted.some((s) => s.id === 'thrice'), 'not tried a fourth time');
  } finally {
    await app.close();
  }
});

test('a full disk is a 507 and any other failed write a 503, both saying nothing was kept', () => {
  const full = storageError(Object.assign(new Error('no space'), { code: 'ENOSPC' }));
  assert.deepEqual([full.code, full.status], ['insufficient_storage', 507]);
  assert.match(full.message, /no room left.*Nothing was kept/);
  const other = storageError(Object.assign(new Error('io'), { code: 'EIO' }));
  assert.deepEqual([other.code, other.status], ['storage_unavailable', 503]);
  assert.match(other.message, /EIO.*Nothing was kept/);
});

// ——— Renaming speakers (PATCH /api/jobs/{id}), over real HTTP.

/** The fake's job, diarized: two speakers, on its segments. */
const diarized: Script = (spec) => succeeds(spec).map((event) => (event.type === 'done' ? {
  type: 'done' as const,
  result: {
    ...event.result,
    segments: event.result.segments.map((s) => ({ ...s, speaker: 'A' })),
    speakers: [{ id: 'A', name: 'A', seconds: 1.5 }, { id: 'B', name: 'B', seconds: 1 }],
  },
} : event));

const KEYS = { API_KEYS: 'alice:sk-alice-1,bob:sk-bob-2' };

/** A gateway on a real port with a fake job system; fetch as a key. */
async function served(jobs: FakeDispatch, env: Record<string, string> = KEYS) {
  const app = await gateway(jobs, env);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const call = (key: string | null, method: string, url: string, body?: unknown) => fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { ...(key && { authorization: `Bearer ${key}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const submitAs = async (key: string | null) => {
    const form = new FormData();
    form.append('file', WAV, 'talk.wav');
    const response = await fetch(`http://127.0.0.1:${port}/api/jobs`, { method: 'POST', body: form, headers: key ? { authorization: `Bearer ${key}` } : {} });
    assert.equal(response.status, 202);
    return (await response.json()).id as string;
  };
  const until = (key: string | null, id: string, status: string) =>
    waitFor(`job ${id} to be ${status}`, async () => (await (await call(key, 'GET', `/api/jobs/${id}`)).json()).status === status);
  return { app, call, submitAs, until };
}

const speakerNames = async (app: App, id: string) => (await app.jobService.get(id))!.result!.speakers!.map((s) => [s.id, s.name]);

test('PATCH /api/jobs/{id} renames the speakers of a finished job, by id or current name; GET shows the job renamed', async () => {
  const { app, call, submitAs, until } = await served(fakeDispatch(diarized));
  try {
    const id = await submitAs('sk-alice-1');
    await until('sk-alice-1', id, 'succeeded');
    const renamed = await call('sk-alice-1', 'PATCH', `/api/jobs/${id}`, { speakers: { A: '  Host ', B: 'Guest' } });
    assert.equal(renamed.status, 200);
    const body = await renamed.json();
    assert.deepEqual([body.id, body.status], [id, 'succeeded']);
    assert.deepEqual(await speakerNames(app, id), [['A', 'Host'], ['B', 'Guest']], 'trimmed, and stored');
    assert.deepEqual(await (await call('sk-alice-1', 'GET', `/api/jobs/${id}`)).json(), body, 'the job object, as GET shows it');
    assert.deepEqual(body.result.speakers.map((s: { id: string; name: string }) => [s.id, s.name]), [['A', 'Host'], ['B', 'Guest']]);
    assert.deepEqual((await app.jobService.get(id))!.result!.segments.map((s) => s.speaker), ['A'], 'segments keep the speaker id');

    const byName = await call('sk-alice-1', 'PATCH', `/api/jobs/${id}`, { speakers: { Host: 'Anna' } });
    assert.equal(byName.status, 200);
    assert.deepEqual(await speakerNames(app, id), [['A', 'Anna'], ['B', 'Guest']], 'a current name names its speaker');
    const shown = (await (await call('sk-alice-1', 'GET', `/api/jobs/${id}`)).json()).result.speakers;
    assert.deepEqual(shown.map((s: { id: string; name: string }) => [s.id, s.name]), [['A', 'Anna'], ['B', 'Guest']], 'GET shows the new names');

    const wrong = await call('sk-alice-1', 'PATCH', `/api/jobs/${id}`, { speakers: { A: 'Host', Z: 'Zed' } });
    assert.equal(wrong.status, 400);
    const { error } = await wrong.json();
    assert.deepEqual([error.code, error.param], ['invalid_parameter', 'speakers.Z']);
    assert.match(error.message, /has no speaker 'Z'; its speakers are A \(Anna\), B \(Guest\)/);
    const twice = await (await call('sk-alice-1', 'PATCH', `/api/jobs/${id}`, { speakers: { A: 'X', Anna: 'Y' } })).json();
    assert.deepEqual([twice.error.param, /speaker A is renamed twice/.test(twice.error.message)], ['speakers.Anna', true]);
    assert.deepEqual(await speakerNames(app, id), [['A', 'Anna'], ['B', 'Guest']], 'a refused rename renames nothing');

    const other = await call('sk-bob-2', 'PATCH', `/api/jobs/${id}`, { speakers: { A: 'Mallory' } });
    assert.equal(other.status, 404, 'another key\'s job is not there');
    assert.deepEqual([(await other.json()).error.code], ['not_found']);
    assert.equal((await call(null, 'PATCH', `/api/jobs/${id}`, { speakers: { A: 'Mallory' } })).status, 401);
    assert.equal((await call('sk-alice-1', 'PATCH', '/api/jobs/nope', { speakers: { A: 'X' } })).status, 404);
    assert.deepEqual(await speakerNames(app, id), [['A', 'Anna'], ['B', 'Guest']]);
  } finally {
    await app.close();
  }
});

test('PATCH /api/jobs/{id}: a bad body is a 400 naming the field', async () => {
  const { app, call, submitAs, until } = await served(fakeDispatch(diarized), {});
  try {
    const id = await submitAs(null);
    await until(null, id, 'succeeded');
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`S${i}`, 'x']));
    for (const [body, param, message] of [
      [{ speakers: { A: '   ' } }, 'speakers.A', /field 'speakers\.A' is blank/],
      [{ speakers: { A: 'x'.repeat(101) } }, 'speakers.A', /field 'speakers\.A' is 101 characters long; a name is at most 100/],
      [{ speakers: { A: 7 } }, 'speakers.A', /field 'speakers\.A' must be text/],
      [{ speakers: {} }, 'speakers', /field 'speakers' is empty/],
      [{ speakers: many }, 'speakers', /field 'speakers' has 33 entries; at most 32/],
      [{ speakers: ['Host'] }, 'speakers', /field 'speakers' must be an object/],
      [{}, 'speakers', /field 'speakers' is required/],
      [{ speakers: { A: 'Host' }, colour: 'red' }, 'colour', /unknown field 'colour'/],
      [[{ A: 'Host' }], null, /the body must be a JSON object/],
    ] as const) {
      const r = await call(null, 'PATCH', `/api/jobs/${id}`, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      const { error } = await r.json();
      assert.deepEqual([error.code, error.param], ['invalid_parameter', param], JSON.stringify(body));
      assert.match(error.message, message);
    }
    const notJson = await call(null, 'PATCH', `/api/jobs/${id}`, '{"speakers": ');
    assert.deepEqual([notJson.status, (await notJson.json()).error.code], [400, 'bad_request']);
    const empty = await fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/jobs/${id}`, { method: 'PATCH' });
    assert.deepEqual([empty.status, (await empty.json()).error.param], [400, 'speakers']);
    assert.deepEqual(await speakerNames(app, id), [['A', 'A'], ['B', 'B']], 'nothing was renamed');
  } finally {
    await app.close();
  }
});

test('PATCH /api/jobs/{id}: a job not finished is 409 job_not_finished, one with no result job_failed, one with no speakers a 400', async () => {
  const { app, call, submitAs, until } = await served(fakeDispatch(hangs), {});
  try {
    const id = await submitAs(null);
    await until(null, id, 'running');
    const early = await call(null, 'PATCH', `/api/jobs/${id}`, { speakers: { A: 'Host' } });
    assert.equal(early.status, 409);
    const { error } = await early.json();
    assert.equal(error.code, 'job_not_finished');
    assert.match(error.message, /is running: its speakers can be renamed once it has succeeded/);
    await call(null, 'POST', `/api/jobs/${id}/cancel`);
    const cancelled = await call(null, 'PATCH', `/api/jobs/${id}`, { speakers: { A: 'Host' } });
    assert.deepEqual([cancelled.status, (await cancelled.json()).error.code], [409, 'job_failed']);

    app.jobs.script = succeeds; // not diarized
    const plain = await submitAs(null);
    await until(null, plain, 'succeeded');
    const none = await call(null, 'PATCH', `/api/jobs/${plain}`, { speakers: { A: 'Host' } });
    assert.equal(none.status, 400);
    const body = await none.json();
    assert.deepEqual([body.error.code, body.error.param], ['invalid_parameter', 'speakers']);
    assert.match(body.error.message, /has no speakers to rename: it was transcribed without diarization/);
  } finally {
    await app.close();
  }
});

test('PATCH /api/jobs/{id} is in the OpenAPI document with its body and every status it sends', async () => {
  const app = await gateway(fakeDispatch(), KEYS);
  try {
    const patch = (await app.inject('/openapi.json')).json().paths['/api/jobs/{id}'].patch;
    assert.deepEqual(Object.keys(patch.responses).sort(), ['200', '400', '401', '404', '409', '429', '500', '503', '507']);
    assert.ok(patch.requestBody.content['application/json'].schema.properties.speakers);
    assert.ok(patch.security, 'it needs a key');
  } finally {
    await app.close();
  }
});
