// The gateway built in-process for app.inject() route tests: a fake job system,
// its own temporary DATA_DIR (real SQLite), no web UI; and a multipart body.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { fakeDispatch, type FakeDispatch } from './fake-dispatch.ts';

export const WAV = new Blob([Buffer.from('RIFF....WAVEfmt fake audio bytes')]);

export async function injectable(env: Record<string, string> = {}, jobs: FakeDispatch = fakeDispatch(), logger: boolean | object = false) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gateway-inject-'));
  const app = await build({ config: loadConfig({ WEB_DIR: '/nonexistent', DATA_DIR: dataDir, ...env }), dispatch: jobs, logger });
  return Object.assign(app, { jobs, dataDir });
}

/** A multipart/form-data body and its content-type (with the boundary). */
export async function multipart(fields: Record<string, string | string[]> = {}, files: Blob[] = [WAV]) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) form.append(k, one);
  for (const f of files) form.append('file', f, 'talk.wav');
  const body = new Response(form);
  return { payload: Buffer.from(await body.arrayBuffer()), headers: { 'content-type': body.headers.get('content-type')! } };
}
