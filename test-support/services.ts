// The real worker and the real gateway as separate processes on free ports, as
// `make start` runs them (the gateway serves web/dist): for browser tests and benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { freePort, ROOT } from './worker.ts';

export interface Services {
  url: string;
  stop(): Promise<void>;
}

/** `env` goes to the gateway on top of the defaults, e.g. { API_KEYS: 'name:key' }. */
export async function startServices(env: Record<string, string> = {}): Promise<Services> {
  const workerPort = await freePort();
  const gatewayPort = await freePort();
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
  };
  children.push(
    spawn(path.join(ROOT, '.venv/bin/python'), ['-m', 'whisper_worker'], {
      cwd: ROOT,
      env: { ...process.env, PYTHONPATH: path.join(ROOT, 'worker'), WHISPER_PORT: String(workerPort), WHISPER_MODELS_DIR: path.join(ROOT, 'models'), HF_HUB_OFFLINE: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
    spawn(process.execPath, ['src/server.ts'], {
      cwd: path.join(ROOT, 'gateway'),
      env: {
        ...process.env, SERVER_PORT: String(gatewayPort), SERVER_HOST: '127.0.0.1', WHISPER_PORT: String(workerPort), WEB_DIR: path.join(ROOT, 'web/dist'), LOG_LEVEL: 'warn',
        DATA_DIR: mkdtempSync(path.join(tmpdir(), 'services-data-')), ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  // The end of each child's stderr, so that a process that dies at start says why
  // instead of the wait running out in silence.
  const tails = children.map((child) => {
    const tail = { text: '' };
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (tail.text = (tail.text + chunk).slice(-2000)));
    return tail;
  });
  const url = `http://127.0.0.1:${gatewayPort}`;
  for (let i = 0; i < 600; i++) {
    const health = await fetch(`${url}/api/health`).catch(() => null);
    if (health?.status === 200) return { url, stop };
    const dead = children.findIndex((child) => child.exitCode !== null || child.signalCode !== null);
    if (dead >= 0) {
      await stop();
      throw new Error(`the ${dead ? 'gateway' : 'worker'} exited at start (${children[dead]!.exitCode ?? children[dead]!.signalCode}):\n${tails[dead]!.text}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error('the worker and gateway did not become healthy within 60 s');
}
