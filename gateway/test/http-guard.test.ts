// No way around the keys: every route the app has (read from its own route
// table, and checked against /openapi.json), over a real socket, in origin
// form and in absolute form (`GET http://x/api/jobs HTTP/1.1`), with no key,
// a wrong key and the right one. A route is public only if it was registered
// outside the guarded scope; the list of public routes is fixed here, so a
// new route put outside by mistake fails this test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { injectable } from './inject.ts';
import { fakeDispatch } from './fake-dispatch.ts';

const KEY = 'sk-guard-0123456789';
const ENV = { API_KEYS: `alice:${KEY}`, RATE_LIMIT_PER_MINUTE: '100000' };
// Public by design: the UI's files, the API's description, the health probe (its status alone without a key).
// /metrics is outside the guarded scope but has its own check (a key, or METRICS_TOKEN).
const PUBLIC = /^(\/|\/\*|\/docs.*|\/openapi\.json|\/api\/health)$/;

interface Answer {
  status: number;
  code: string | null;
}

function send(port: number, method: string, target: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // http.request writes `path` as the request target as it is: an absolute URL gives the absolute form.
    const request = http.request({ host: '127.0.0.1', port, method, path: target, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        let code: string | null = null;
        try {
          code = (JSON.parse(body) as { error?: { code?: string } }).error?.code ?? null;
        } catch {
          // not JSON (a file, the docs' HTML)
        }
        resolve({ status: response.statusCode!, code });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

/** A concrete path for a route pattern: parameters filled in, a wildcard as a file name. */
const concrete = (pattern: string) => pattern.replace(/:[A-Za-z_]+/g, '00000000-0000-4000-8000-000000000000').replace(/\*$/, 'index.html');

test('every /api and /v1 route needs the key, in origin form and absolute form; an absolute-form target gets 400', async () => {
  const app = await injectable(ENV, fakeDispatch());
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const routes = app.routeTable.list();
    const documented = Object.entries((await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()).paths as Record<string, object>)
      .flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`));
    const walked = new Set(routes.map((r) => `${r.method} ${r.url}`));
    for (const route of documented) assert.ok(walked.has(route), `${route} is in /openapi.json but not in the route table`);
    assert.ok(routes.length >= 20, `the route table has ${routes.length} routes`);

    const keys: Array<[string, Record<string, string>]> = [['no key', {}], ['a wrong key', { authorization: 'Bearer sk-guard-wrong' }], ['the key', { authorization: `Bearer ${KEY}` }]];
    const publicRoutes: string[] = [];
    for (const { method, url } of routes) {
      const path = concrete(url);
      for (const [which, headers] of keys) {
        const origin = await send(port, method, path, headers);
        const absolute = await send(port, method, `http://x${path}`, headers);
        assert.equal(absolute.status, 400, `${method} http://x${path} with ${which}: ${JSON.stringify(absolute)}`);
        if (which === 'the key') {
          assert.notEqual(origin.status, 401, `${method} ${path} with the key`);
        } else if (origin.status === 401) {
          if (method !== 'HEAD') assert.equal(origin.code, 'invalid_api_key', `${method} ${path}`);
        } else if (which === 'no key') {
          publicRoutes.push(`${method} ${url}`);
        }
      }
      if (url.startsWith('/api/') || url.startsWith('/v1/')) {
        if (!PUBLIC.test(url)) assert.ok(!publicRoutes.includes(`${method} ${url}`), `${method} ${url} answers without a key`);
      }
    }
    for (const route of publicRoutes) assert.match(route.split(' ')[1]!, PUBLIC, `${route} answers without a key`);
    assert.ok(publicRoutes.includes('GET /api/health'));
  } finally {
    await app.close();
  }
});

test('?api_key= is taken only where a browser cannot send a header: a job\'s event stream and audio, the realtime WebSocket', async () => {
  const app = await injectable(ENV, fakeDispatch());
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    for (const path of ['/api/jobs', '/api/models', '/v1/models', '/api/languages']) {
      assert.equal((await send(port, 'GET', `${path}?api_key=${KEY}`)).status, 401, `${path}?api_key=`);
    }
    // The key is taken (the job does not exist: 404, not 401).
    assert.equal((await send(port, 'GET', `/api/jobs/00000000-0000-4000-8000-000000000000/events?api_key=${KEY}`)).status, 404);
    assert.equal((await send(port, 'GET', `/api/jobs/00000000-0000-4000-8000-000000000000/audio?api_key=${KEY}`)).status, 404, 'an <audio src>');
    assert.equal((await send(port, 'GET', `/v1/realtime?api_key=${KEY}`)).status, 426, 'the key is taken; a plain GET is no WebSocket');
  } finally {
    await app.close();
  }
});

test('/metrics with keys set and no METRICS_TOKEN needs a key; with a token, the token or a key', async () => {
  const app = await injectable(ENV, fakeDispatch());
  const tokened = await injectable({ ...ENV, METRICS_TOKEN: 'scrape-me' }, fakeDispatch());
  const open = await injectable({}, fakeDispatch());
  try {
    assert.equal((await app.inject('/metrics')).statusCode, 401);
    assert.equal((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer sk-nope' } })).statusCode, 401);
    assert.equal((await app.inject({ url: `/metrics?api_key=${KEY}` })).statusCode, 401, 'not in the query');
    assert.equal((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${KEY}` } })).statusCode, 200);
    assert.equal((await tokened.inject('/metrics')).statusCode, 401);
    assert.equal((await tokened.inject({ url: '/metrics', headers: { authorization: 'Bearer scrape-me' } })).statusCode, 200);
    assert.equal((await tokened.inject({ url: '/metrics', headers: { 'x-api-key': KEY } })).statusCode, 200);
    assert.equal((await open.inject('/metrics')).statusCode, 200, 'no keys, no token: open');
  } finally {
    await Promise.all([app.close(), tokened.close(), open.close()]);
  }
});

test('a method a path does not have gets 405 with Allow, an unknown path 404', async () => {
  const app = await injectable({}, fakeDispatch());
  try {
    const wrong = await app.inject({ method: 'DELETE', url: '/api/models' });
    assert.equal(wrong.statusCode, 405);
    assert.equal(wrong.json().error.code, 'method_not_allowed');
    assert.match(String(wrong.headers.allow), /GET/);
    const put = await app.inject({ method: 'PUT', url: '/api/jobs/00000000-0000-4000-8000-000000000000' });
    assert.equal(put.statusCode, 405);
    assert.deepEqual(String(put.headers.allow).split(', ').sort(), ['DELETE', 'GET', 'HEAD', 'PATCH']);
    assert.equal((await app.inject({ method: 'GET', url: '/api/nothing-here' })).statusCode, 404);
  } finally {
    await app.close();
  }
});
