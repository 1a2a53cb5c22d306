// A real gateway (build() on a free port, in this process) in front of real workers,
// and the small HTTP helpers every suite uses. Only node: imports and the gateway's
// own modules here: this folder has no node_modules of its own.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { build } from '../gateway/src/app.ts';
import { loadConfig } from '../gateway/src/config.ts';
import { createDispatch } from '../gateway/src/dispatch/index.ts';
import type { Dispatch } from '../gateway/src/dispatch/types.ts';
import { startWorker, type RunningWorker } from './worker.ts';

export interface Gateway {
  app: Awaited<ReturnType<typeof build>>;
  dispatch: Dispatch;
  url: string;
  close(): Promise<void>;
}

export async function startGateway(workers: string[], env: Record<string, string> = {}): Promise<Gateway> {
  // Each gateway its own DATA_DIR unless the test names one (to restart on the same store).
  const dataDir = env.DATA_DIR ?? mkdtempSync(path.join(tmpdir(), 'gateway-data-'));
  const config = loadConfig({ WHISPER_WORKERS: workers.join(','), SERVER_PORT: '0', DATA_DIR: dataDir, ...env });
  const dispatch = createDispatch({ workers: config.workers, pollIntervalMs: 500, noWorkerGraceMs: 1500, workerToken: config.workerToken });
  await dispatch.directory.ready();
  const app = await build({ config, dispatch, logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address() as { port: number };
  return {
    app,
    dispatch,
    url: `http://127.0.0.1:${address.port}`,
    async close() {
      await app.close();
      await dispatch.close();
    },
  };
}

export function form(file: Blob | null, fields: Record<string, string> = {}, filename = 'audio.wav'): FormData {
  const body = new FormData();
  for (const [k, v] of Object.entries(fields)) body.append(k, v);
  if (file) body.append('file', file, filename);
  return body;
}

/** Reads a Server-Sent Events response into [event, data] pairs. */
export async function readSse(response: Response): Promise<Array<{ event: string; data: any }>> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!);
      return { event, data };
    });
}

declare global {
  // Tests read JSON bodies loosely; the response schemas are checked by the server.
  interface Response {
    json(): Promise<any>;
  }
}

/**
 * One real worker (one slot) and one gateway on it, started before a test file's tests and stopped after them:
 * read `services.worker` and `services.gw` inside the tests.
 */
export function workerAndGateway(gatewayEnv: Record<string, string> = {}): { worker: RunningWorker; gw: Gateway } {
  const services = {} as { worker: RunningWorker; gw: Gateway };
  before(async () => {
    services.worker = await startWorker({ WHISPER_SLOTS: '1' });
    services.gw = await startGateway([services.worker.address], gatewayEnv);
  });
  after(async () => {
    await services.gw?.close();
    await services.worker?.stop();
  });
  return services;
}
