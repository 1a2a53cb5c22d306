// A worker's data links: one TCP connection per running transcription, so an
// audio frame never shares a socket (or a write queue) with anything else, the
// way postgres.js sends a cancel on a fresh connection. A link whose job ended
// cleanly waits, up to the worker's slot count, for the next one. A link that
// breaks fails only the request it carries: the worker's state is the
// monitor's business (./monitor.ts).
import { WorkerConnection, type ConnectionOptions } from './connection.ts';

export class DataLinks {
  private readonly options: ConnectionOptions;
  private readonly maxIdle: () => number;
  private readonly idle: WorkerConnection[] = [];
  private readonly inUse = new Set<WorkerConnection>();
  private disposed = false;
  private closeReason = '';
  private generation = 0; // bumped by closeAll: a link opened across it belongs to a worker since marked down

  constructor(options: ConnectionOptions, maxIdle: () => number) {
    this.options = options;
    this.maxIdle = maxIdle;
  }

  /** An idle link, or a new one; rejects when the worker cannot be reached. */
  async acquire(): Promise<WorkerConnection> {
    if (this.disposed) throw new Error(this.closeReason);
    let link = this.idle.pop();
    while (link && link.state !== 'open') link = this.idle.pop();
    if (!link) {
      const generation = this.generation;
      link = await this.open();
      if (this.disposed || generation !== this.generation) {
        link.close(this.closeReason);
        throw new Error(this.closeReason);
      }
    }
    this.inUse.add(link);
    return link;
  }

  /** Back from a finished request: kept when it is clean (nothing in flight or being written), else closed. */
  release(link: WorkerConnection): void {
    this.inUse.delete(link);
    const clean = link.state === 'open' && link.inFlight === 0 && !link.writing;
    if (clean && !this.disposed && this.idle.length < this.maxIdle()) this.idle.push(link);
    else link.close('no longer needed');
  }

  /**
   * The worker missed its heartbeat: idle links go, and links being opened now
   * are refused (their jobs go elsewhere), but links carrying a job stay. A
   * worker paused for a while (swapping, a long GC, SIGSTOP) finishes its work
   * on them; one that died closes them itself, and one that stays silent is
   * given up by closeAll().
   */
  closeIdle(reason: string): void {
    this.generation += 1;
    this.closeReason = reason;
    const idle = this.idle.splice(0);
    for (const link of idle) link.close(reason);
  }

  /** Closes every link, idle or carrying a job: each such job gets worker_lost (the worker is gone). */
  closeAll(reason: string): void {
    this.closeIdle(reason);
    const links = [...this.inUse];
    this.inUse.clear();
    for (const link of links) link.close(reason);
  }

  /** Links carrying a job now. */
  get busy(): number {
    return this.inUse.size;
  }

  dispose(reason: string): void {
    this.disposed = true;
    this.closeAll(reason);
  }

  /** Links open now, idle or in use. */
  get size(): number {
    return this.idle.length + this.inUse.size;
  }

  private async open(): Promise<WorkerConnection> {
    const link = await WorkerConnection.open(this.options);
    link.onClose(() => {
      const index = this.idle.indexOf(link);
      if (index >= 0) this.idle.splice(index, 1);
    });
    return link;
  }
}
