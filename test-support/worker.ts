// Starts the real Python worker on a free port, for integration tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
export const CLIP = `${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-0870.wav`; // "… John Dashwood …", 7 s
export const SHORT_CLIP = `${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-0880.wav`; // 3 s

export interface RunningWorker {
  port: number;
  address: string;
  process: ChildProcess;
  /** Its last 50 lines of stderr (its JSON log). */
  lines(): string[];
  /** The request lines among them (one per request that ended), parsed. */
  requests(): RequestLine[];
  stop(): Promise<void>;
}

/** The worker's log line for a request that ended (worker/whisper_worker/server/connection.py, log_request). */
export interface RequestLine {
  event: 'request';
  id: string;
  command: string;
  outcome: string;
  [field: string]: unknown;
}

export async function startWorker(env: Record<string, string> = {}): Promise<RunningWorker> {
  const child = spawn(path.join(ROOT, '.venv/bin/python'), ['-m', 'whisper_worker'], {
    cwd: ROOT,
    env: { ...process.env, PYTHONPATH: path.join(ROOT, 'worker'), WHISPER_PORT: '0', WHISPER_MODELS_DIR: path.join(ROOT, 'models'), HF_HUB_OFFLINE: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines = createInterface({ input: child.stderr! });
  const said: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the worker did not start within 60 s')), 60_000);
    child.once('exit', (code) => reject(new Error(`the worker exited with ${code}:\n${said.slice(-20).join('\n')}`)));
    lines.on('line', (line) => {
      said.push(line);
      if (said.length > 50) said.shift();
      if (line.includes('"listening"')) {
        clearTimeout(timer);
        resolve(JSON.parse(line).port);
      }
    });
  });
  return {
    port,
    address: `127.0.0.1:${port}`,
    process: child,
    lines: () => [...said],
    requests: () => said.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((l) => l.event === 'request'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}

/** A port nobody listens on right now, for a child process that must be told its port. */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  return port;
}
