// Starts a private redis-server on a free port, for tests of the Redis job
// store and queue. Only ever touches the servers it started itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from './worker.ts';

export interface RedisServer {
  url: string;
  port: number;
  /** Its data directory (the AOF lives here when appendonly is on). */
  dir: string;
  /** A clean shutdown (SIGTERM: Redis flushes its AOF), waiting for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data directory. */
  start(): Promise<void>;
  /** SIGKILL: a crash, with no chance to flush anything. */
  kill(): Promise<void>;
}

export interface RedisOptions {
  appendonly?: boolean;
  maxmemoryPolicy?: string;
  port?: number;
}

// A test that crashes or forgets stop() must not leave a redis-server behind.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** True once something on the port answers PING with +PONG. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}

async function launch(port: number, dir: string, options: RedisOptions): Promise<ChildProcess> {
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--daemonize', 'no', '--save', '', '--dir', dir,
    '--appendonly', options.appendonly === false ? 'no' : 'yes', '--maxmemory-policy', options.maxmemoryPolicy ?? 'noeviction',
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const said: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      said.push(line);
      if (said.length > 30) said.shift();
    });
  }
  const spawned = await new Promise<Error | null>((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', resolve);
  });
  if (spawned) {
    const missing = (spawned as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? 'redis-server is not on PATH: run scripts/ensure-system-deps.sh redis' : `redis-server did not start: ${spawned.message}`);
  }
  running.add(child);
  child.once('exit', () => running.delete(child));
  // A forgotten server must not keep the test process alive: the exit hook above ends it.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?(): void }).unref?.();

  const deadline = Date.now() + 20_000;
  while (!(await pings(port))) {
    if (!alive(child)) throw new Error(`redis-server exited at start (${child.exitCode ?? child.signalCode}):\n${said.join('\n')}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not answer PING on port ${port} within 20 s:\n${said.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return child;
}

async function end(child: ChildProcess | null, signal: NodeJS.Signals): Promise<void> {
  if (!child || !alive(child)) return;
  child.ref(); // unref'd at start: hold the test process open until it has exited
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'redis-data-'));
  let port = options.port ?? (await freePort());
  let child: ChildProcess | null = null;
  // A free port can be taken between freePort() and redis binding it: try another.
  for (let attempt = 1; ; attempt++) {
    try {
      child = await launch(port, dir, options);
      break;
    } catch (e) {
      if (options.port !== undefined || attempt >= 3 || String(e).includes('not on PATH')) throw e;
      port = await freePort();
    }
  }
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    dir,
    stop: () => end(child, 'SIGTERM'),
    kill: () => end(child, 'SIGKILL'),
    async start() {
      if (child && alive(child)) return;
      child = await launch(port, dir, options);
    },
  };
}
