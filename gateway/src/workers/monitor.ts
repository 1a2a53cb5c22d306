// A worker's monitor: its control link and heartbeat, as the MongoDB driver's
// server monitor keeps heartbeats on a connection of their own. Only status and
// list_models travel here, never audio, so a slow upload on a data link cannot
// delay a status reply. The worker is reported down only from here, and once
// per failure: the failing link is forgotten before it is closed, so its own
// close event (or a request it fails) finds it is no longer current.
import { WorkerConnection } from './connection.ts';
import type { ListModelsResult, StatusResult } from '../protocol/messages.ts';

export interface MonitorOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  statusTimeoutMs: number;
  pollIntervalMs: number;
  maxBackoffMs: number;
  token?: string | null; // WORKER_TOKEN
}

/** What the monitor tells the pool; the pool turns each into a state. */
export interface MonitorReport {
  connecting(): void;
  up(status: StatusResult, listing: ListModelsResult | null): void;
  down(reason: string): void;
}

export class Monitor {
  private readonly options: MonitorOptions;
  private readonly report: MonitorReport;
  private link: WorkerConnection | null = null;
  private listedOn: WorkerConnection | null = null; // the link list_models was asked on
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  private stopped = false;
  private failures = 0; // in a row, for the backoff

  constructor(options: MonitorOptions, report: MonitorReport) {
    this.options = options;
    this.report = report;
  }

  /** The first check; settles once the worker has answered or failed. */
  start(): Promise<void> {
    return this.check();
  }

  /** Checks now rather than at the next heartbeat (a job just ended there, or its data link broke). */
  checkNow(): void {
    if (this.link && !this.checking && !this.stopped) void this.check();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
    this.link?.close('the gateway stopped watching this worker');
    this.link = null;
  }

  private async check(): Promise<void> {
    if (this.checking || this.stopped) return;
    this.checking = true;
    this.clearTimer();
    let link = this.link;
    try {
      if (!link) {
        if (this.failures > 0) this.report.connecting();
        link = await this.connect();
      }
      const status = await link.call({ command: 'status' }, this.options.statusTimeoutMs);
      // Asked once per link: a worker that restarted may have other models on disk.
      const listing = this.listedOn === link ? null : await link.call({ command: 'list_models' }, this.options.statusTimeoutMs);
      if (link !== this.link || this.stopped) return; // it failed meanwhile, and that was reported
      this.listedOn = link;
      this.failures = 0;
      this.report.up(status, listing);
      this.arm(this.options.pollIntervalMs);
    } catch (e) {
      this.fail(link, (e as Error).message);
    } finally {
      this.checking = false;
    }
  }

  private async connect(): Promise<WorkerConnection> {
    const link = await WorkerConnection.open({
      host: this.options.host,
      port: this.options.port,
      connectTimeoutMs: this.options.connectTimeoutMs,
      drainTimeoutMs: this.options.statusTimeoutMs,
      maxReplyFrame: 64 << 20,
      token: this.options.token ?? null,
    });
    if (this.stopped) {
      link.close('the gateway stopped watching this worker');
      throw new Error('stopped');
    }
    link.onClose((reason) => this.fail(link, reason));
    this.link = link;
    return link;
  }

  /** `link` is the control link the failure is about (null: none could be opened). */
  private fail(link: WorkerConnection | null, reason: string): void {
    if (this.stopped || link !== this.link) return; // already reported: one failure, one report
    this.link = null;
    link?.close(reason);
    this.failures += 1;
    this.report.down(reason);
    this.arm(Math.min(this.options.maxBackoffMs, 250 * 2 ** Math.min(this.failures, 8)));
  }

  private arm(ms: number): void {
    this.clearTimer();
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.check();
    }, ms);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
