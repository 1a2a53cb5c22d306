// API keys, job ownership, rate and job limits, slow clients, CORS and
// security headers: through app.inject() with a fake job system, and over a
// real socket where pace matters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { ConfigError, loadConfig } from '../config.ts';
import { fakeDispatch, hangs, type FakeDispatch } from '../../test/fake-dispatch.ts';
import { waitFor } from '../../../test-support/wait.ts';
import { injectable, multipart } from '../../test/inject.ts';

const KEYS = { API_KEYS: 'alice:sk-alice-0123456789,bob:sk-bob-9876543210' };
const alice = { authorization: 'Bearer sk-alice-0123456789' };
const bob = { 'x-api-key': 'sk-bob-9876543210' };

const gateway = (env: Record<string, string> = {}, jobs: FakeDispatch = fakeDispatch(), logger: boolean | object = false) => injectable(env, jobs, logger);

test('with keys set, every /api and /v1 route needs one: 401 in OpenAI\'s shape otherwise', async () => {
  const app = await gateway(KEYS);
  try {
    for (const url of ['/api/models', '/api/jobs', '/v1/models', '/api/languages']) {
      const none = await app.inject(url);
      assert.equal(none.statusCode, 401, url);
      assert.deepEqual(none.json().error, { message: "This server needs an API key: send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.", type: 'invalid_request_error', param: null, code: 'invalid_api_key' });
    }
    const wrong = await app.inject({ url: '/api/models', headers: { authorization: 'Bearer sk-alice-0123456788' } });
    assert.equal(wrong.statusCode, 401);
    assert.match(wrong.json().error.message, /not valid/);
    assert.equal((await app.inject({ url: '/api/models', headers: alice })).statusCode, 200);
    assert.equal((await app.inject({ url: '/v1/models', headers: bob })).statusCode, 200);
    assert.equal((await app.inject('/openapi.json')).statusCode, 200, 'the API description stays public');
    const health = await app.inject('/api/health');
    assert.deepEqual(health.json(), { status: 'ok' }, 'health without a key: the status alone');
    assert.ok((await app.inject({ url: '/api/health', headers: alice })).json().workers, 'with a key: in full');
  } finally {
    await app.close();
  }
});

test('jobs belong to the key that submitted them', async () => {
  const app = await gateway(KEYS);
  try {
    const form = await multipart();
    const submitted = await app.inject({ method: 'POST', url: '/api/jobs', payload: form.payload, headers: { ...form.headers, ...alice } });
    assert.equal(submitted.statusCode, 202);
    const { id } = submitted.json();
    assert.equal((await app.inject({ url: `/api/jobs/${id}`, headers: alice })).statusCode, 200);
    for (const [method, url] of [['GET', `/api/jobs/${id}`], ['GET', `/api/jobs/${id}/result`], ['GET', `/api/jobs/${id}/events`], ['DELETE', `/api/jobs/${id}`], ['POST', `/api/jobs/${id}/cancel`]] as const) {
      assert.equal((await app.inject({ method, url, headers: bob })).statusCode, 404, `${method} ${url} as another key`);
    }
    assert.deepEqual((await app.inject({ url: '/api/jobs', headers: bob })).json().jobs, []);
    assert.equal((await app.inject({ url: '/api/jobs', headers: alice })).json().jobs.length, 1);
    await waitFor('the job to finish', async () => (await app.inject({ url: `/api/jobs/${id}`, headers: alice })).json().status === 'succeeded');
    const events = await app.inject({ url: `/api/jobs/${id}/events?api_key=sk-alice-0123456789` });
    assert.equal(events.statusCode, 200, 'EventSource cannot send headers: the key may come in the query of a GET');
  } finally {
    await app.close();
  }
});

test('keys from API_KEYS_FILE are SHA-256 digests; a bad line stops the start naming the line', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'keys-'));
  const file = path.join(dir, 'keys');
  writeFileSync(file, `# team keys\ncarol:${createHash('sha256').update('sk-carol').digest('hex')}\n`);
  const app = await gateway({ API_KEYS_FILE: file });
  try {
    assert.equal((await app.inject({ url: '/api/models', headers: { 'x-api-key': 'sk-carol' } })).statusCode, 200);
    assert.equal((await app.inject({ url: '/api/models', headers: { 'x-api-key': 'sk-caro' } })).statusCode, 401);
  } finally {
    await app.close();
  }
  writeFileSync(file, 'carol:sk-carol-in-clear\n');
  assert.throws(() => loadConfig({ API_KEYS_FILE: file }), (e: Error) => e instanceof ConfigError && /line 1 is not name:sha256-hex/.test(e.message));
  assert.throws(() => loadConfig({ API_KEYS: 'a:x,a:y' }), /used twice/);
});

test('a key never appears in a log line', async () => {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) });
  const app = await gateway(KEYS, fakeDispatch(), { level: 'info', stream });
  try {
    await app.inject({ url: '/api/jobs?api_key=sk-alice-0123456789' });
    await app.inject({ url: '/api/models', headers: alice });
    await app.inject({ url: '/api/models', headers: { authorization: 'Bearer sk-wrong-key-1' } });
    const log = lines.join('');
    assert.ok(log.includes('api_key=[redacted]'), log);
    assert.ok(!/sk-alice|sk-wrong/.test(log), log);
  } finally {
    await app.close();
  }
});

test('rate limit per key: past RATE_LIMIT_PER_MINUTE a 429 with Retry-After; another key still passes', async () => {
  const app = await gateway({ ...KEYS, RATE_LIMIT_PER_MINUTE: '3' });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await app.inject({ url: '/api/models', headers: alice })).statusCode, 200);
    const limited = await app.inject({ url: '/api/models', headers: alice });
    assert.equal(limited.statusCode, 429);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    assert.deepEqual([limited.json().error.code, limited.json().error.type], ['rate_limit_exceeded', 'requests']);
    assert.match(limited.json().error.message, /at most 3 requests a minute/);
    assert.equal((await app.inject({ url: '/api/models', headers: bob })).statusCode, 200);
  } finally {
    await app.close();
  }
});

test('MAX_JOBS_PER_KEY: one more queued or running job gets 429 saying so', async () => {
  const app = await gateway({ ...KEYS, MAX_JOBS_PER_KEY: '1' }, fakeDispatch(hangs));
  try {
    const form = await multipart();
    assert.equal((await app.inject({ method: 'POST', url: '/api/jobs', payload: form.payload, headers: { ...form.headers, ...alice } })).statusCode, 202);
    const second = await app.inject({ method: 'POST', url: '/api/jobs', payload: form.payload, headers: { ...form.headers, ...alice } });
    assert.equal(second.statusCode, 429);
    assert.match(second.json().error.message, /The key 'alice' has 1 jobs queued or running.*MAX_JOBS_PER_KEY=1/);
    assert.equal((await app.inject({ method: 'POST', url: '/api/jobs', payload: form.payload, headers: { ...form.headers, ...bob } })).statusCode, 202);
  } finally {
    await app.close();
  }
});

/** Opens a raw connection, writes `head`, then `trickle` a byte at a time; resolves with what the server answered. */
async function slowClient(port: number, head: string, trickle: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let answer = '';
  socket.on('data', (d) => (answer += d));
  socket.on('error', () => {});
  socket.write(head);
  const drip = setInterval(() => socket.writable && socket.write(trickle), 300);
  await waitFor('the server to answer or hang up', () => answer.length > 0 || socket.destroyed || socket.readableEnded, 15_000);
  clearInterval(drip);
  socket.destroy();
  return answer;
}

test('slow clients are cut off with 408: an upload under the minimum pace, and headers that never end', async () => {
  const app = await gateway({ MIN_UPLOAD_BYTES_PER_SECOND: '1000', UPLOAD_RATE_WINDOW_SECONDS: '1', HEADERS_TIMEOUT_SECONDS: '1' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as net.AddressInfo;
  try {
    const body = '--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF';
    const upload = await slowClient(port, `POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n${body}`, 'x');
    assert.match(upload, /^HTTP\/1\.1 408/);
    assert.match(upload, /under the 1000 bytes\/s this server needs \(MIN_UPLOAD_BYTES_PER_SECOND\)/);
    const headers = await slowClient(port, 'GET /api/models HTTP/1.1\r\nHost: x\r\n', '');
    assert.match(headers, /^HTTP\/1\.1 408/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/models`)).status, 200, 'everyone else is still served');
  } finally {
    await app.close();
  }
});

test('CORS only for the origins listed; security headers on the UI and the API', async () => {
  const app = await gateway({ CORS_ORIGINS: 'https://app.example.com' });
  try {
    const preflight = { method: 'OPTIONS' as const, url: '/api/jobs', headers: { 'access-control-request-method': 'POST' } };
    const allowed = await app.inject({ ...preflight, headers: { ...preflight.headers, origin: 'https://app.example.com' } });
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.com');
    const other = await app.inject({ ...preflight, headers: { ...preflight.headers, origin: 'https://evil.example' } });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    const page = await app.inject('/');
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'(;|$)/);
    assert.doesNotMatch(String(page.headers['content-security-policy']), /upgrade-insecure-requests/, 'plain http on a LAN must keep working');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['x-frame-options'], 'DENY');
  } finally {
    await app.close();
  }
  const closed = await gateway();
  try {
    const r = await closed.inject({ method: 'OPTIONS', url: '/api/jobs', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } });
    assert.equal(r.headers['access-control-allow-origin'], undefined, 'no CORS_ORIGINS: same origin only');
  } finally {
    await closed.close();
  }
});
