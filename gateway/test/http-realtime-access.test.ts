// Who may open a realtime session, and how many: the API keys (header,
// subprotocol, query), the browser origin check, REALTIME_MAX_SESSIONS, and
// the session metrics. In front of the fake worker (./fake-stream.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeWorker } from './fake-worker.ts';
import { RealtimeClient, pcm } from './realtime-client.ts';
import { startGateway } from '../../test-support/gateway.ts';
import { waitFor } from '../../test-support/wait.ts';

async function withGateway(env: Record<string, string>, body: (url: string) => Promise<void>): Promise<void> {
  const fake = await startFakeWorker({ slots: 1 });
  const gw = await startGateway([fake.address], env);
  try {
    await body(gw.url);
  } finally {
    await gw.close();
    await fake.close();
  }
}

const refused = (status: number, code: string) => (e: any) => e.status === status && e.body.error.code === code;

/** One sample of the Prometheus text, by name and labels. */
async function metric(url: string, name: string, labels = ''): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ' '}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('with API keys: the key as a bearer, a subprotocol (answered with `realtime`) or in the query; none or a wrong one is 401', async () => {
  await withGateway({ API_KEYS: 'alice:sk-alice-1,bob:sk-bob-2' }, async (url) => {
    await assert.rejects(RealtimeClient.connect(url), refused(401, 'invalid_api_key'));
    await assert.rejects(RealtimeClient.connect(url, { headers: { authorization: 'Bearer sk-nope' } }), refused(401, 'invalid_api_key'));
    await assert.rejects(RealtimeClient.connect(url, { protocols: ['realtime', 'openai-insecure-api-key.sk-nope'] }), refused(401, 'invalid_api_key'));
    const bearer = await RealtimeClient.connect(url, { headers: { authorization: 'Bearer sk-alice-1' } });
    await bearer.take('session.created');
    await bearer.close();
    const query = await RealtimeClient.connect(url, { query: 'intent=transcription&api_key=sk-alice-1' });
    await query.take('session.created');
    await query.close();

    // A browser's way: the key as a subprotocol. The session is alice's job, which bob cannot see.
    const browser = await RealtimeClient.connect(url, { protocols: ['realtime', 'openai-insecure-api-key.sk-alice-1', 'openai-beta.realtime-v1'] });
    assert.equal(browser.socket.protocol, 'realtime');
    const { session } = await browser.take('session.created');
    browser.append(pcm(100));
    browser.send({ type: 'input_audio_buffer.commit' });
    await browser.take('conversation.item.input_audio_transcription.completed');
    await browser.close();
    const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
    await waitFor('alice\'s session to be stored', async () => (await fetch(`${url}/api/jobs/${session.id}`, as('sk-alice-1'))).status === 200);
    assert.equal((await fetch(`${url}/api/jobs/${session.id}`, as('sk-bob-2'))).status, 404);
    assert.equal((await (await fetch(`${url}/api/jobs/${session.id}/result?format=text`, as('sk-alice-1'))).text()).trim(), 'w1');
  });
});

test('a browser page of another origin is refused (403); the same origin and CORS_ORIGINS are let in', async () => {
  await withGateway({ CORS_ORIGINS: 'https://app.example' }, async (url) => {
    await assert.rejects(RealtimeClient.connect(url, { headers: { origin: 'https://evil.example' } }), refused(403, 'forbidden_origin'));
    const listed = await RealtimeClient.connect(url, { headers: { origin: 'https://app.example' } });
    await listed.take('session.created');
    await listed.close();
    const same = await RealtimeClient.connect(url, { headers: { origin: url } });
    await same.take('session.created');
    await same.close();
  });
});

test('REALTIME_MAX_SESSIONS: past it, an error event and close code 1013; the metrics count sessions by outcome', async () => {
  await withGateway({ REALTIME_MAX_SESSIONS: '1' }, async (url) => {
    const first = await RealtimeClient.connect(url);
    await first.take('session.created');
    assert.equal(await metric(url, 'whisper_realtime_sessions_open'), 1);
    const second = await RealtimeClient.connect(url);
    const error = await second.error();
    assert.deepEqual([error.type, error.code], ['server_error', 'session_limit_reached']);
    assert.match(error.message, /REALTIME_MAX_SESSIONS/);
    assert.deepEqual(await second.closed, { code: 1013, reason: 'session limit reached' });
    assert.equal(second.received.some((e) => e.type === 'session.created'), false);

    first.append(pcm(100));
    first.send({ type: 'input_audio_buffer.commit' });
    await first.take('conversation.item.input_audio_transcription.completed');
    await first.close();
    await waitFor('the session to be counted as ended', async () => (await metric(url, 'whisper_realtime_sessions_open')) === 0);
    const third = await RealtimeClient.connect(url);
    await third.take('session.created');
    await third.close();
    await waitFor('the empty one to be counted', async () => (await metric(url, 'whisper_realtime_sessions_total', 'outcome="empty"')) === 1);
    assert.equal(await metric(url, 'whisper_realtime_sessions_total', 'outcome="transcribed"'), 1);
    assert.equal(await metric(url, 'whisper_realtime_sessions_total', 'outcome="refused"'), 1);
    assert.equal(await metric(url, 'whisper_realtime_sessions_total', 'outcome="failed"'), 0);
  });
  await withGateway({ REALTIME_MAX_SESSIONS: '0' }, async (url) => {
    const client = await RealtimeClient.connect(url);
    assert.match((await client.error()).message, /turned off/);
    assert.equal((await client.closed).code, 1013);
  });
});

test('REALTIME_MAX_SESSIONS_PER_KEY: one key past its own cap is refused with 1013, while another key still opens sessions', async () => {
  await withGateway({ API_KEYS: 'alice:sk-alice-1,bob:sk-bob-2', REALTIME_MAX_SESSIONS_PER_KEY: '2' }, async (url) => {
    const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
    const open: RealtimeClient[] = [];
    for (let i = 0; i < 2; i++) {
      const client = await RealtimeClient.connect(url, as('sk-alice-1'));
      await client.take('session.created');
      open.push(client);
    }
    const third = await RealtimeClient.connect(url, as('sk-alice-1'));
    const error = await third.error();
    assert.equal(error.code, 'session_limit_reached');
    assert.match(error.message, /The key 'alice' has 2 realtime sessions open.*REALTIME_MAX_SESSIONS_PER_KEY/);
    assert.equal((await third.closed).code, 1013);
    const bob = await RealtimeClient.connect(url, as('sk-bob-2'));
    await bob.take('session.created');
    await open[0]!.close();
    const again = await waitFor('alice to have room again', async () => {
      const client = await RealtimeClient.connect(url, as('sk-alice-1'));
      const first = await Promise.race([client.take('session.created').then(() => client), client.closed.then(() => null)]);
      return first;
    });
    for (const client of [open[1]!, bob, again]) await client.close();
  });
});
