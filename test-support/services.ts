// The real worker and the real gateway as separate processes on free ports, as
// `make start` runs them (the gateway serves web/dist): for browser tests and benchmarks.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, startWorker } from './worker.ts';
import { startGatewayProcess } from './gateway-process.ts';

export interface Services {
  url: string;
  stop(): Promise<void>;
}

/** `env` goes to the gateway on top of the defaults, e.g. { API_KEYS: 'name:key' }. */
export async function startServices(env: Record<string, string> = {}): Promise<Services> {
  // One slot, as a small CPU server would run: a second job waits in line, which the UI must show.
  const worker = await startWorker({ WHISPER_SLOTS: '1' });
  try {
    const gateway = await startGatewayProcess({
      WHISPER_WORKERS: worker.address, WEB_DIR: path.join(ROOT, 'web/dist'), DATA_DIR: mkdtempSync(path.join(tmpdir(), 'services-data-')), ...env,
    });
    return {
      url: gateway.url,
      async stop() {
        await gateway.kill();
        await worker.stop();
      },
    };
  } catch (e) {
    await worker.stop();
    throw e;
  }
}
