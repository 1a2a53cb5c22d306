// A job as the dispatcher holds it: its attempts' state and their event
// stream. Events are kept, so a reader that subscribes late still sees
// everything from the start.
import { randomUUID } from 'node:crypto';
import { JobFailure, type JobError, type JobEvent, type JobHandle, type JobSpec } from './types.ts';
import type { TranscriptionResult } from '../protocol/messages.ts';

export class DispatchedJob implements JobHandle {
  readonly id: string;
  readonly spec: JobSpec;
  readonly submittedAt = Date.now();
  attempts: number; // started so far, counting those before a gateway restart (spec.previousAttempts)
  state: 'waiting' | 'running' | 'done' | 'failed' = 'waiting';
  cancelRequested = false;
  private readonly history: JobEvent[] = [];
  private readonly wakers = new Set<() => void>();
  private readonly settled: Promise<TranscriptionResult>;
  private resolve!: (r: TranscriptionResult) => void;
  private reject!: (e: JobFailure) => void;
  /** Set by the queue: how to stop this job wherever it is. */
  onCancel: () => void = () => {};

  constructor(spec: JobSpec) {
    this.id = spec.id ?? randomUUID();
    this.spec = spec;
    this.attempts = spec.previousAttempts ?? 0;
    this.settled = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.settled.catch(() => {}); // a caller that only reads events() must not cause an unhandled rejection
  }

  get finished(): boolean {
    return this.state === 'done' || this.state === 'failed';
  }

  emit(event: JobEvent): void {
    if (this.finished) return;
    this.history.push(event);
    if (event.type === 'done') {
      this.state = 'done';
      this.resolve(event.result);
    } else if (event.type === 'failed') {
      this.state = 'failed';
      this.reject(new JobFailure(event.error));
    }
    for (const wake of this.wakers) wake();
  }

  fail(error: JobError): void {
    this.emit({ type: 'failed', error });
  }

  result(): Promise<TranscriptionResult> {
    return this.settled;
  }

  cancel(): void {
    if (this.finished || this.cancelRequested) return;
    this.cancelRequested = true;
    this.onCancel();
  }

  async *events(): AsyncIterable<JobEvent> {
    let index = 0;
    while (true) {
      while (index < this.history.length) {
        const event = this.history[index++]!;
        yield event;
        if (event.type === 'done' || event.type === 'failed') return;
      }
      await new Promise<void>((wake) => {
        const once = () => {
          this.wakers.delete(once);
          wake();
        };
        this.wakers.add(once);
      });
    }
  }
}
