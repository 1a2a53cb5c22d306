// The real worker and the real gateway (serving web/dist) on free ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../gateway/test/real-worker.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');


export interface Services {
  url: string;
  stop(): Promise<void>;
}

export async function startServices(): Promise<Services> {
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
      stdio: 'ignore',
    }),
    spawn(process.execPath, ['src/server.ts'], {
      cwd: path.join(ROOT, 'gateway'),
      env: { ...process.env, SERVER_PORT: String(gatewayPort), SERVER_HOST: '127.0.0.1', WHISPER_PORT: String(workerPort), WEB_DIR: path.join(ROOT, 'web/dist'), LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    }),
  );
  const url = `http://127.0.0.1:${gatewayPort}`;
  for (let i = 0; i < 600; i++) {
    const health = await fetch(`${url}/api/health`).catch(() => null);
    if (health?.status === 200) return { url, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error('the worker and gateway did not become healthy within 60 s');
}
