// createJobSystem: the worker pool and the queue in front of it, behind the
// JobSystem contract of ./types.ts.
import { WorkerPool } from '../workers/pool.ts';
import { MemoryQueue } from './memory-queue.ts';
import type { JobSystem } from './types.ts';

export interface JobSystemOptions {
  workers: string[];
  connectTimeoutMs?: number;
  statusTimeoutMs?: number;
  pollIntervalMs?: number;
  resolveIntervalMs?: number;
  maxAttempts?: number;
  noWorkerGraceMs?: number;
}

export function createJobSystem(options: JobSystemOptions): JobSystem {
  const pool = new WorkerPool({
    workers: options.workers,
    connectTimeoutMs: options.connectTimeoutMs ?? 3000,
    statusTimeoutMs: options.statusTimeoutMs ?? 5000,
    pollIntervalMs: options.pollIntervalMs ?? 2000,
    resolveIntervalMs: options.resolveIntervalMs ?? 30_000,
    maxBackoffMs: 5000,
  });
  const queue = new MemoryQueue(pool, { maxAttempts: options.maxAttempts ?? 3, noWorkerGraceMs: options.noWorkerGraceMs ?? 3000 });
  return {
    queue,
    directory: pool,
    async close() {
      await queue.close();
      pool.close();
    },
  };
}
