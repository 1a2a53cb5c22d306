// The workers behind the gateway: one connection each, polled for their
// status so the scheduler knows free slots and loaded models. A worker that
// fails is marked down with the reason and tried again with backoff.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { WorkerConnection, type ConnectionOptions } from './connection.ts';
import type { ModelView, WorkerDirectory, WorkerView } from '../jobs/types.ts';
import type { StatusResult } from '../protocol/messages.ts';

export interface PoolOptions {
  workers: string[]; // host:port; a name with several addresses is several workers
  connectTimeoutMs: number;
  statusTimeoutMs: number;
  pollIntervalMs: number;
  resolveIntervalMs: number;
  maxBackoffMs: number;
  /** How names become addresses (DNS by default; tests pass their own). */
  lookup?: (host: string) => Promise<string[]>;
}

export class Worker {
  readonly address: string;
  readonly host: string;
  readonly port: number;
  connection: WorkerConnection | null = null;
  up = false;
  error: string | null = 'not contacted yet';
  status: StatusResult | null = null;
  knownModels: string[] = []; // every name the worker accepts (list_models)
  availableModels: string[] = []; // those whose weights it has
  inFlight = 0; // jobs this gateway has running there
  failures = 0;
  nextTry = 0;

  constructor(host: string, port: number, label: string) {
    this.host = host;
    this.port = port;
    this.address = label;
  }

  get slots(): number {
    return this.status?.slots ?? 1;
  }

  get loadedModels(): string[] {
    return (this.status?.models ?? []).map((m) => m.name);
  }

  get freeSlots(): number {
    return this.up ? this.slots - this.inFlight : 0;
  }
}

export class WorkerPool implements WorkerDirectory {
  private readonly options: PoolOptions;
  private members = new Map<string, Worker>();
  private timers: NodeJS.Timeout[] = [];
  private firstRound: Promise<void>;
  private closed = false;
  /** Called whenever a worker's capacity may have changed. */
  onChange: () => void = () => {};

  constructor(options: PoolOptions) {
    this.options = options;
    this.firstRound = this.resolve().then(() => this.pollAll());
    this.timers.push(setInterval(() => void this.pollAll(), options.pollIntervalMs));
    this.timers.push(setInterval(() => void this.resolve(), options.resolveIntervalMs));
    for (const t of this.timers) t.unref();
  }

  ready(): Promise<void> {
    return this.firstRound;
  }

  list(): Worker[] {
    return [...this.members.values()];
  }

  workers(): WorkerView[] {
    return this.list().map((w) => ({
      address: w.address,
      up: w.up,
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
    const names = this.modelNames();
    const up = this.list().filter((w) => w.up);
    return [...names].map((name) => {
      const loadedOn = up.filter((w) => w.loadedModels.includes(name)).map((w) => w.address);
      return { name, available: up.some((w) => w.availableModels.includes(name)), loaded: loadedOn.length > 0, workers: loadedOn };
    });
  }

  /** Polls one worker now (after a job ends, its slot count is fresh at once). */
  async poll(worker: Worker): Promise<void> {
    if (this.closed || Date.now() < worker.nextTry) return;
    try {
      const connection = await this.connect(worker);
      worker.status = await connection.call({ command: 'status' }, this.options.statusTimeoutMs);
      if (!worker.up || worker.knownModels.length === 0) {
        const listing = await connection.call({ command: 'list_models' }, this.options.statusTimeoutMs);
        worker.knownModels = listing.models.map((m) => m.name);
        worker.availableModels = listing.models.filter((m) => m.available).map((m) => m.name);
      }
      worker.up = true;
      worker.error = null;
      worker.failures = 0;
    } catch (e) {
      this.markDown(worker, (e as Error).message);
    }
    this.onChange();
  }

  markDown(worker: Worker, reason: string): void {
    worker.up = false;
    worker.error = reason;
    worker.failures += 1;
    worker.nextTry = Date.now() + Math.min(this.options.maxBackoffMs, 250 * 2 ** Math.min(worker.failures, 8));
    worker.connection?.close(reason);
    worker.connection = null;
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const w of this.list()) w.connection?.close();
  }

  private async connect(worker: Worker): Promise<WorkerConnection> {
    if (worker.connection?.state === 'open') return worker.connection;
    const options: ConnectionOptions = {
      host: worker.host,
      port: worker.port,
      connectTimeoutMs: this.options.connectTimeoutMs,
      drainTimeoutMs: 60_000,
      maxReplyFrame: 64 << 20,
    };
    const connection = await WorkerConnection.open(options);
    connection.onClose((reason) => {
      if (worker.connection === connection) this.markDown(worker, reason);
      this.onChange();
    });
    worker.connection = connection;
    return connection;
  }

  private async pollAll(): Promise<void> {
    await Promise.all(this.list().map((w) => this.poll(w)));
  }

  /** host:port entries to workers; names are looked up again from time to time. */
  private async resolve(): Promise<void> {
    const seen = new Set<string>();
    for (const entry of this.options.workers) {
      const { host, port } = splitAddress(entry);
      const addresses = isIP(host) ? [host] : await (this.options.lookup ?? lookupAll)(host);
      for (const ip of addresses.length ? addresses : [host]) {
        const label = addresses.length > 1 ? `${host}(${ip}):${port}` : `${host}:${port}`;
        seen.add(label);
        if (!this.members.has(label)) this.members.set(label, new Worker(ip, port, label));
      }
    }
    for (const [label, worker] of this.members) {
      if (!seen.has(label) && worker.inFlight === 0) {
        worker.connection?.close('no longer in DNS');
        this.members.delete(label);
      }
    }
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
