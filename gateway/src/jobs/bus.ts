// The job bus: how what happens to a job reaches every reader, and a cancel
// reaches whichever process runs the job. In one gateway it is an in-process
// emitter; behind several gateways, Redis pub/sub (../redis/bus.ts), so a
// reader on one gateway follows a job that runs on another.
import { EventEmitter } from 'node:events';
import type { JobEvent } from '../dispatch/types.ts';
import type { Outcome } from './store.ts';

export type BusMessage =
  | { type: 'event'; id: string; seq: number; event: JobEvent } // stored already, under seq
  | { type: 'end'; id: string; outcome?: Outcome } // the outcome is stored; or, with it, the store refused it and it is told here
  | { type: 'cancel'; id: string } // whoever runs it, stop it
  | { type: 'work' } // a job was queued or handed back: gateways with a free slot look
  | { type: 'slot' } // a worker slot was freed
  | { type: 'resync' }; // messages may have been missed (the bus reconnected): readers read the store again

export interface JobBus {
  publish(message: BusMessage): Promise<void>;
  subscribe(listener: (message: BusMessage) => void): void;
  close(): Promise<void>;
}

/** One process: delivered at once, in order, to every listener. */
export class LocalBus implements JobBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  async publish(message: BusMessage): Promise<void> {
    this.emitter.emit('message', message);
  }

  subscribe(listener: (message: BusMessage) => void): void {
    this.emitter.on('message', listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}
