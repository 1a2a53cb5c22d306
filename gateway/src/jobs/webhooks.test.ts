// Webhook delivery against a real HTTP receiver on 127.0.0.1, and the submit-time URL check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { ApiError } from '../errors.ts';
import { checkCallbackUrl, deliverWebhook, type WebhookSettings } from './webhooks.ts';
import type { WebhookDelivery } from './store.ts';
import { waitFor } from '../../../test-support/wait.ts';

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const fast: WebhookSettings = { secret, allowedHosts: ['127.0.0.1'], maxAttempts: 5, firstBackoffMs: 5, timeoutMs: 5000 };
const job = { id: 'job_1', status: 'succeeded', result: { text: 'héllo' } };

interface Received { path: string; headers: Record<string, string>; body: string }
type Answer = (req: IncomingMessage, res: ServerResponse) => void;

/** A receiver that answers the n-th request with answers[n] (the last one repeats). */
async function receiver(answers: Answer[]) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString() });
      answers[Math.min(received.length, answers.length) - 1]!(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  };
  return { url, received, close };
}
const status = (code: number, headers: Record<string, string> = {}): Answer => (_req, res) => res.writeHead(code, headers).end();
const hangUp: Answer = (req) => req.socket.destroy();
const never: Answer = () => {};

test('delivered once, signed so that the standardwebhooks verifier gives the payload back', async () => {
  const r = await receiver([status(200)]);
  try {
    const d = await deliverWebhook(r.url, 'msg_1', job, fast);
    assert.equal(d.delivered, true);
    assert.equal(d.attempts, 1);
    assert.equal(d.last_status, 200);
    assert.equal(d.last_error, null);
    assert.ok(Math.abs(Date.parse(d.delivered_at!) - Date.now()) < 60_000);
    assert.equal(r.received.length, 1);
    const got = r.received[0]!;
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['webhook-id'], 'msg_1');
    assert.match(got.headers['webhook-timestamp']!, /^\d{10}$/);
    assert.deepEqual(new Webhook(secret).verify(got.body, got.headers), job);
    assert.throws(() => new Webhook(`whsec_${randomBytes(24).toString('base64')}`).verify(got.body, got.headers));
  } finally {
    await r.close();
  }
});

test('500, then a closed socket, then 204: delivered on attempt 3 with the same webhook-id', async () => {
  const r = await receiver([status(500), hangUp, status(204)]);
  try {
    const seen: WebhookDelivery[] = [];
    const d = await deliverWebhook(r.url, 'msg_retry', job, fast, (x) => seen.push(x));
    assert.deepEqual({ ...d, delivered_at: null }, { attempts: 3, delivered: true, last_status: 204, last_error: null, delivered_at: null });
    assert.deepEqual(r.received.map((x) => x.headers['webhook-id']), ['msg_retry', 'msg_retry', 'msg_retry']);
    for (const x of r.received) assert.deepEqual(new Webhook(secret).verify(x.body, x.headers), job);
    assert.deepEqual(seen.map((x) => [x.attempts, x.delivered, x.last_status]), [[1, false, 500], [2, false, null], [3, true, 204]]);
    assert.equal(seen[0]!.last_error, 'HTTP 500');
    assert.match(seen[1]!.last_error!, /fetch failed: \S+/); // undici's cause, e.g. UND_ERR_SOCKET
  } finally {
    await r.close();
  }
});

test('a receiver that always fails: gives up after maxAttempts, last status and error kept', async () => {
  const r = await receiver([status(500)]);
  try {
    const d = await deliverWebhook(r.url, 'msg_2', job, { ...fast, maxAttempts: 3 });
    assert.deepEqual(d, { attempts: 3, delivered: false, last_status: 500, last_error: 'HTTP 500', delivered_at: null });
    assert.equal(r.received.length, 3);
  } finally {
    await r.close();
  }
});

test('a receiver that does not answer in time counts as a failure and is retried', async () => {
  const r = await receiver([never, status(200)]);
  try {
    const d = await deliverWebhook(r.url, 'msg_slow', job, { ...fast, timeoutMs: 200 });
    assert.equal(d.delivered, true);
    assert.equal(d.attempts, 2);
  } finally {
    await r.close();
  }
});

test('a redirect is a failure and is not followed', async () => {
  const r = await receiver([(req, res) => (req.url === '/hook' ? status(302, { location: '/elsewhere' })(req, res) : status(200)(req, res))]);
  try {
    const d = await deliverWebhook(r.url, 'msg_3', job, { ...fast, maxAttempts: 2 });
    assert.equal(d.delivered, false);
    assert.equal(d.attempts, 2);
    assert.equal(d.last_status, 302);
    assert.match(d.last_error!, /redirect/);
    assert.deepEqual(r.received.map((x) => x.path), ['/hook', '/hook']);
  } finally {
    await r.close();
  }
});

test('an aborted signal stops retrying, during the backoff or during a request', async () => {
  const r = await receiver([status(500), never]);
  try {
    const slow = { ...fast, firstBackoffMs: 600_000, timeoutMs: 600_000 };
    const before = new AbortController();
    before.abort();
    const none = await deliverWebhook(r.url, 'msg_4', job, slow, undefined, before.signal);
    assert.equal(none.attempts, 0);
    assert.equal(r.received.length, 0);

    const backoff = new AbortController();
    const first = deliverWebhook(r.url, 'msg_5', job, slow, () => backoff.abort(), backoff.signal);
    const d = await first;
    assert.equal(d.attempts, 1);
    assert.equal(d.delivered, false);
    assert.match(d.last_error!, /^HTTP 500; not retried/);

    const inFlight = new AbortController();
    const second = deliverWebhook(r.url, 'msg_6', job, slow, undefined, inFlight.signal);
    await waitFor('the request to arrive', () => r.received.length === 2);
    inFlight.abort();
    const e = await second;
    assert.equal(e.attempts, 1);
    assert.match(e.last_error!, /^interrupted/);
    assert.equal(r.received.length, 2);
  } finally {
    await r.close();
  }
});

test('no secret (or a bad one): nothing is sent and the reason is recorded', async () => {
  const d = await deliverWebhook('http://127.0.0.1:9/hook', 'msg_7', job, { ...fast, secret: null });
  assert.deepEqual(d, { attempts: 0, delivered: false, last_status: null, last_error: 'cannot sign: WEBHOOK_SECRET is unset', delivered_at: null });
  const bad = await deliverWebhook('http://127.0.0.1:9/hook', 'msg_8', job, { ...fast, secret: 'whsec_' });
  assert.equal(bad.attempts, 0);
  assert.match(bad.last_error!, /^cannot sign: /);
});

test('checkCallbackUrl: only listed hosts, http(s), and a clear 400 otherwise', () => {
  const s: WebhookSettings = { secret, allowedHosts: ['hooks.example.com', 'api.example.org:8443', '[::1]'] };
  const refused = (raw: string, pattern: RegExp, settings = s) =>
    assert.throws(() => checkCallbackUrl(raw, settings), (e: unknown) =>
      e instanceof ApiError && e.code === 'invalid_parameter' && e.param === 'callback_url' && e.status === 400 && pattern.test(e.message));

  assert.equal(checkCallbackUrl('https://HOOKS.Example.com/a?b=1', s), 'https://hooks.example.com/a?b=1');
  assert.equal(checkCallbackUrl('http://hooks.example.com:9999/x', s), 'http://hooks.example.com:9999/x'); // no port in the entry: any port
  assert.equal(checkCallbackUrl('https://api.example.org:8443/x', s), 'https://api.example.org:8443/x');
  assert.equal(checkCallbackUrl('http://[::1]/x', s), 'http://[::1]/x');
  refused('https://api.example.org/x', /api\.example\.org/); // the entry names port 8443
  refused('http://api.example.org:8080/x', /not allowed/);
  refused('http://10.0.0.1/admin', /allowed hosts: hooks\.example\.com, api\.example\.org:8443, \[::1\]/);
  refused('http://hooks.example.com.evil.net/', /not allowed/);
  refused('http://hooks.example.com@evil.net/', /user name or password/); // the host is evil.net
  refused('http://user:pw@hooks.example.com/', /user name or password/);
  refused('file:///etc/passwd', /http or https/);
  refused('ftp://hooks.example.com/', /http or https/);
  refused('not a url', /absolute http or https URL/);
  refused('', /absolute http or https URL/);
  refused('https://hooks.example.com/', /WEBHOOK_ALLOWED_HOSTS is unset/, { secret, allowedHosts: [] });
  assert.equal(checkCallbackUrl('http://localhost:8080/', { secret, allowedHosts: ['localhost:8080'] }), 'http://localhost:8080/');
  refused('http://localhost/', /not allowed/, { secret, allowedHosts: ['localhost:8080'] });
  assert.equal(checkCallbackUrl('https://svc:443/', { secret, allowedHosts: ['svc:443'] }), 'https://svc/'); // default port matches
});
