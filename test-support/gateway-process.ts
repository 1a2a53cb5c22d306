// The gateway as its own process (node gateway/src/server.ts), for what only a
// process can show: SIGKILL and SIGTERM, restarts on the same DATA_DIR, memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { freePort, ROOT } from './worker.ts';
import { waitFor } from './wait.ts';

export interface GatewayProcess {
  url: string;
  process: ChildProcess;
  /** The end of its log (stdout and stderr), for failure messages. */
  log(): string;
  /** Lines saying a background promise without an owner failed: a test that sees one has found a bug. */
  bugs(): string[];
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  // A port of its own, or the one asked for (a restart on the same address).
  const port = env.SERVER_PORT ? Number(env.SERVER_PORT) : await freePort();
  const child = spawn(process.execPath, ['src/server.ts'], {
    cwd: path.join(ROOT, 'gateway'),
    env: { ...process.env, SERVER_PORT: String(port), SERVER_HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const bugs: string[] = [];
  const take = (chunk: string) => {
    tail = (tail + chunk).slice(-4000);
    // The last-resort handler's line (server.ts): a background promise without an owner failed.
    for (const line of chunk.split('\n')) if (line.includes('BUG:')) bugs.push(line);
  };
  child.stdout!.setEncoding('utf8').on('data', take);
  child.stderr!.setEncoding('utf8').on('data', take);
  const url = `http://127.0.0.1:${port}`;
  const gateway: GatewayProcess = {
    url,
    process: child,
    log: () => tail,
    bugs: () => bugs,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
  // Up once it answers; a process that exits at start says why at once rather than when the wait runs out.
  const outcome = await waitFor(`the gateway on ${url} to answer`, async () => {
    if (child.exitCode !== null || child.signalCode !== null) return 'exited';
    return (await fetch(`${url}/api/health`).catch(() => null))?.status === 200 ? 'up' : null;
  }, 60_000, 50).catch(async (e: Error) => {
    // Not left running (its pipes would hold the test process open), and its log says why.
    await gateway.kill();
    throw new Error(`${e.message}:\n${tail}`);
  });
  if (outcome === 'exited') throw new Error(`the gateway exited at start (${child.exitCode ?? child.signalCode}):\n${tail}`);
  return gateway;
}
