// One worker as the gateway sees it: an explicit state, what its last status
// said, and how many of its slots this gateway is using. The state changes in
// one place only (WorkerPool.set, ./pool.ts); the scheduler reads it.
import type { DataLinks } from './data-links.ts';
import type { Monitor } from './monitor.ts';
import type { ModelInfo, StatusResult } from '../protocol/messages.ts';

/**
 * connecting: not contacted yet, or trying again after a failure;
 * ready: its control link answers, jobs may go there;
 * down: its control link failed (error says why), retried with backoff;
 * gone: no longer configured (left DNS), or the pool closed.
 */
export type WorkerState = 'connecting' | 'ready' | 'down' | 'gone';

// A worker's link, as its monitor sees it (./monitor.ts): the moves it may make. ready → ready and down → down are
// a fresh status and a failure said again; gone is the end.
const MOVES: Record<WorkerState, readonly WorkerState[]> = {
  connecting: ['ready', 'down', 'gone'],
  ready: ['ready', 'down', 'gone'],
  down: ['connecting', 'ready', 'down', 'gone'],
  gone: [],
};

export class IllegalWorkerMove extends Error {}

/** Checks a move of a worker's link; throws on one the machine does not have (a bug). */
export function nextWorkerState(from: WorkerState, to: WorkerState): WorkerState {
  if (!MOVES[from].includes(to)) throw new IllegalWorkerMove(`a worker cannot go from ${from} to ${to}`);
  return to;
}

/** Every move the machine allows, for the tests that walk it. */
export function workerMoves(): Array<[WorkerState, WorkerState]> {
  return Object.entries(MOVES).flatMap(([from, tos]) => tos.map((to) => [from as WorkerState, to] as [WorkerState, WorkerState]));
}

export class Worker {
  readonly address: string; // host:port as configured, the name users see
  readonly host: string;
  readonly port: number;
  state: WorkerState = 'connecting';
  error: string | null = 'not contacted yet';
  status: StatusResult | null = null;
  knownModels: string[] = []; // every name the worker accepts (list_models)
  availableModels: string[] = []; // those whose weights it has
  modelInfo = new Map<string, ModelInfo>(); // each name's row of list_models
  busy = 0; // transcriptions this gateway has running there
  downs = 0; // times it was marked down, one per failure
  readonly monitor: Monitor;
  readonly links: DataLinks;

  constructor(host: string, port: number, address: string, monitor: Monitor, links: DataLinks) {
    this.host = host;
    this.port = port;
    this.address = address;
    this.monitor = monitor;
    this.links = links;
  }

  get slots(): number {
    return this.status?.slots ?? 1;
  }

  get loadedModels(): string[] {
    return (this.status?.models ?? []).map((m) => m.name);
  }

  /** Slots a new job may take now: none unless ready. */
  get freeSlots(): number {
    return this.state === 'ready' ? Math.max(0, this.slots - this.busy) : 0;
  }
}
