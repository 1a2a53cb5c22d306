// createDispatch: the worker pool and the scheduler in front of it, behind the
// Dispatch contract of ./types.ts.
import { WorkerPool } from '../workers/pool.ts';
import { Scheduler } from './scheduler.ts';
import type { Dispatch } from './types.ts';

export interface DispatchOptions {
  workers: string[];
  connectTimeoutMs?: number;
  statusTimeoutMs?: number;
  /** The heartbeat: each worker's status is asked this often on its control link. Dispatch never waits for it. */
  pollIntervalMs?: number;
  resolveIntervalMs?: number;
  noWorkerGraceMs?: number;
  /** WORKER_TOKEN: sent in `hello` on every connection to a worker; null or absent sends none. */
  workerToken?: string | null;
  /** WORKER_LOST_SECONDS, in ms: a worker down this long loses the jobs running on it (they go elsewhere). */
  workerLostMs?: number;
}

/** The contract, plus the pool itself for what watches workers closely (tests, diagnostics). */
export interface LocalDispatch extends Dispatch {
  pool: WorkerPool;
}

export function createDispatch(options: DispatchOptions): LocalDispatch {
  const pool = new WorkerPool({
    workers: options.workers,
    connectTimeoutMs: options.connectTimeoutMs ?? 3000,
    statusTimeoutMs: options.statusTimeoutMs ?? 5000,
    pollIntervalMs: options.pollIntervalMs ?? 2000,
    resolveIntervalMs: options.resolveIntervalMs ?? 30_000,
    maxBackoffMs: 5000,
    token: options.workerToken ?? null,
    lostAfterMs: options.workerLostMs ?? 60_000,
  });
  const dispatcher = new Scheduler(pool, { noWorkerGraceMs: options.noWorkerGraceMs ?? 3000 });
  return {
    dispatcher,
    directory: pool,
    streams: pool,
    pool,
    async close() {
      await dispatcher.close();
      pool.close();
    },
  };
}
