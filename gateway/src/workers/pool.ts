// The workers behind the gateway. Each has a monitor (a control link polled
// for status: free slots, loaded models) and data links for transcriptions.
// Every change of a worker's state goes through set(), which tells the
// listeners (the scheduler dispatches on it), as postgres.js moves its
// connections between states in one function.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DataLinks } from './data-links.ts';
import { Monitor, type MonitorReport } from './monitor.ts';
import { nextWorkerState, Worker, type WorkerState } from './worker.ts';
import type { ModelView, WorkerDirectory, WorkerView } from './types.ts';
import type { ListModelsResult, StatusResult } from '../protocol/messages.ts';
import type { SlotLedger, StreamHost, StreamLink } from './types.ts';
import { WorkerRequestError } from './connection.ts';
import { PoolStreamLink } from './stream-link.ts';

export { Worker, type WorkerState } from './worker.ts';

export interface PoolOptions {
  workers: string[]; // host:port; a name with several addresses is several workers
  connectTimeoutMs: number;
  statusTimeoutMs: number;
  pollIntervalMs: number; // the heartbeat: how often each worker's status is asked
  resolveIntervalMs: number;
  maxBackoffMs: number;
  /** WORKER_TOKEN: every connection to a worker begins with `hello` carrying it. */
  token?: string | null;
  /**
   * How long a worker may stay down (its heartbeat unanswered) before the
   * jobs running on it are given up and tried elsewhere (WORKER_LOST_SECONDS).
   * Until then a missed heartbeat only stops new work going there.
   */
  lostAfterMs: number;
  /** How names become addresses (DNS by default; tests pass their own). */
  lookup?: (host: string) => Promise<string[]>;
}

/** Told of every state change, and of every fresh status (slots and models may have changed). */
export type PoolListener = (worker: Worker, from: WorkerState) => void;

export class WorkerPool implements WorkerDirectory, StreamHost {
  private readonly options: PoolOptions;
  private readonly members = new Map<string, Worker>();
  private readonly listeners: PoolListener[] = [];
  private readonly resolveTimer: NodeJS.Timeout;
  private readonly firstRound: Promise<void>;
  private readonly lostTimers = new Map<Worker, NodeJS.Timeout>();
  private ledger: SlotLedger | null = null;
  private closed = false;

  constructor(options: PoolOptions) {
    this.options = options;
    this.firstRound = this.resolve().then(async (added) => {
      await Promise.all(added.map((w) => w.monitor.start()));
    });
    // resolve() and a monitor's checks catch what they meet (a lookup that fails is no address): nothing here can reject.
    this.resolveTimer = setInterval(() => void this.resolve().then((added) => added.forEach((w) => void w.monitor.start())), options.resolveIntervalMs);
    this.resolveTimer.unref();
  }

  ready(): Promise<void> {
    return this.firstRound;
  }

  subscribe(listener: PoolListener): void {
    this.listeners.push(listener);
  }

  onChange(listener: () => void): void {
    this.listeners.push(() => listener());
  }

  list(): Worker[] {
    return [...this.members.values()];
  }

  workers(): WorkerView[] {
    return this.list().map((w) => ({
      address: w.address,
      up: w.state === 'ready',
      error: w.error,
      device: w.status?.device ?? null,
      slots: w.slots,
      running: w.status?.running ?? 0,
      queued: w.status?.queued ?? 0,
      loadedModels: w.loadedModels,
      availableModels: w.availableModels,
    }));
  }

  modelNames(): string[] {
    return [...new Set(this.list().flatMap((w) => w.knownModels))];
  }

  models(): ModelView[] {
    const up = this.list().filter((w) => w.state === 'ready');
    return this.modelNames().map((name) => {
      const loadedOn = up.filter((w) => w.loadedModels.includes(name)).map((w) => w.address);
      // The same name on two workers is assumed to be the same model: the first that read its files tells what it can do.
      const info = up.map((w) => w.modelInfo.get(name)).find((m) => m?.multilingual != null);
      return {
        name, available: up.some((w) => w.availableModels.includes(name)), loaded: loadedOn.length > 0, workers: loadedOn,
        multilingual: info?.multilingual ?? null, languages: info?.languages ?? null,
      };
    });
  }

  /** A slot taken by the scheduler; it dispatches again itself when it gives one back. */
  reserve(worker: Worker): void {
    worker.busy += 1;
  }

  release(worker: Worker): void {
    worker.busy -= 1;
  }

  /**
   * A data link for a live stream, on the ready worker that suits `model` best:
   * not one in `avoid` (where the session's last stream was lost), then the
   * model on disk, then loaded, then the most free slots. A worker with no
   * free slot may still be chosen: it queues the stream itself (`queued`).
   */
  async streamLink(model: string, avoid: ReadonlySet<string> = new Set()): Promise<StreamLink> {
    const score = (w: Worker) => [Number(!avoid.has(w.address)), Number(w.availableModels.includes(model)), Number(w.loadedModels.includes(model)), w.freeSlots];
    const ready = this.list().filter((w) => w.state === 'ready');
    const best = ready.sort((a, b) => compareScores(score(b), score(a)))[0];
    if (!best) {
      const reasons = this.list().map((w) => `${w.address}: ${w.error ?? w.state}`).join('; ');
      throw new WorkerRequestError('no_worker', `No Whisper worker is reachable (${reasons || 'none configured'}).`);
    }
    let connection;
    try {
      connection = await best.links.acquire();
    } catch (e) {
      this.check(best);
      throw new WorkerRequestError('no_worker', (e as Error).message);
    }
    return new PoolStreamLink(best, connection, { reserve: (w) => this.reserve(w), giveBack: (w) => this.giveBack(w) }, this.ledger);
  }

  shareSlots(ledger: SlotLedger): void {
    this.ledger = ledger;
  }

  /** Asks the worker's status now: after a job there ended (fresh models), or its data link broke (is it gone?). */
  check(worker: Worker): void {
    worker.monitor.checkNow();
  }

  /** A slot a live stream gave back: the listeners hear of it, as the scheduler dispatches on it. */
  private giveBack(worker: Worker): void {
    this.release(worker);
    for (const listener of this.listeners) listener(worker, worker.state);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.resolveTimer);
    for (const w of this.list()) this.set(w, 'gone', 'the gateway is shutting down');
  }

  /** The one place a worker's state changes, through its machine (./worker.ts). */
  private set(worker: Worker, state: WorkerState, reason: string | null): void {
    const from = worker.state;
    if (from === 'gone') return; // a report that crossed the worker's removal
    worker.state = nextWorkerState(from, state);
    if (state === 'ready') worker.error = null;
    else if (reason !== null) worker.error = reason;
    if (state === 'down' && from !== 'down') {
      worker.downs += 1;
      // No new work goes there; what runs there keeps its data links unless the worker stays silent (see DataLinks.closeIdle).
      worker.links.closeIdle(`the worker ${worker.address} is down: ${reason}`);
      this.armLost(worker);
    }
    if (state === 'ready') this.disarmLost(worker);
    if (state === 'gone') {
      this.disarmLost(worker);
      worker.monitor.stop();
      worker.links.dispose(reason ?? 'the worker left the pool');
    }
    for (const listener of this.listeners) listener(worker, from);
  }

  private report(worker: () => Worker): MonitorReport {
    return {
      connecting: () => this.set(worker(), 'connecting', null),
      up: (status: StatusResult, listing: ListModelsResult | null) => {
        const w = worker();
        w.status = status;
        if (listing) {
          w.knownModels = listing.models.map((m) => m.name);
          w.availableModels = listing.models.filter((m) => m.available).map((m) => m.name);
          w.modelInfo = new Map(listing.models.map((m) => [m.name, m]));
        }
        this.set(w, 'ready', null);
      },
      down: (reason: string) => this.set(worker(), 'down', reason),
    };
  }

  private add(host: string, port: number, label: string): Worker {
    const { connectTimeoutMs, statusTimeoutMs, pollIntervalMs, maxBackoffMs } = this.options;
    const token = this.options.token ?? null;
    const monitor = new Monitor({ host, port, connectTimeoutMs, statusTimeoutMs, pollIntervalMs, maxBackoffMs, token }, this.report(() => worker));
    // drainTimeoutMs: a worker that reads nothing of an audio frame for a minute has stalled.
    const links = new DataLinks({ host, port, connectTimeoutMs, drainTimeoutMs: 60_000, maxReplyFrame: 64 << 20, token }, () => worker.slots);
    const worker: Worker = new Worker(host, port, label, monitor, links);
    this.members.set(label, worker);
    return worker;
  }

  /** Down for lostAfterMs without coming back: the jobs on it are lost, and go elsewhere. */
  private armLost(worker: Worker): void {
    this.disarmLost(worker);
    const timer = setTimeout(() => {
      this.lostTimers.delete(worker);
      if (worker.state === 'ready' || worker.state === 'gone') return;
      worker.links.closeAll(`the worker ${worker.address} has not answered for ${this.options.lostAfterMs / 1000} s: ${worker.error}`);
    }, this.options.lostAfterMs);
    timer.unref();
    this.lostTimers.set(worker, timer);
  }

  private disarmLost(worker: Worker): void {
    clearTimeout(this.lostTimers.get(worker));
    this.lostTimers.delete(worker);
  }

  /** host:port entries to workers; names are looked up again from time to time. Returns the new ones. */
  private async resolve(): Promise<Worker[]> {
    const seen = new Set<string>();
    const added: Worker[] = [];
    for (const entry of this.options.workers) {
      const { host, port } = splitAddress(entry);
      const addresses = isIP(host) ? [host] : await (this.options.lookup ?? lookupAll)(host);
      if (this.closed) return [];
      for (const ip of addresses.length ? addresses : [host]) {
        const label = addresses.length > 1 ? `${host}(${ip}):${port}` : `${host}:${port}`;
        seen.add(label);
        if (!this.members.has(label)) added.push(this.add(ip, port, label));
      }
    }
    for (const [label, worker] of this.members) {
      if (!seen.has(label) && worker.busy === 0) {
        this.set(worker, 'gone', 'no longer in DNS');
        this.members.delete(label);
      }
    }
    return added;
  }
}

async function lookupAll(host: string): Promise<string[]> {
  try {
    return [...new Set((await lookup(host, { all: true })).map((a) => a.address))];
  } catch {
    return [];
  }
}

export function splitAddress(entry: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(entry.trim());
  if (!match) throw new Error(`'${entry}' is not host:port`);
  return { host: match[1]!, port: Number(match[2]) };
}

/** Orders two scores (lists of numbers, most important first): > 0 when `a` is the better. */
export function compareScores(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}
