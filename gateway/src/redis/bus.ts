// The job bus on Redis pub/sub: every gateway hears every job's events, ends
// and cancels. Pub/sub forgets what nobody heard, so whatever must last is in
// the store first; after a reconnect listeners are told to read it again
// ('resync'), since messages may have passed while the link was down.
import type { Redis } from 'ioredis';
import type { BusMessage, JobBus } from '../jobs/bus.ts';
import type { Log } from '../owned.ts';
import { connectRedis } from './connection.ts';

const TYPES = new Set<string>(['event', 'end', 'cancel', 'work', 'slot', 'resync']);

/**
 * A message as another gateway published it, or null: the channel is anyone's
 * who can reach Redis, and what is not ours is dropped, never thrown in the
 * subscriber's listener (where it would end the process).
 */
export function parseBusMessage(text: string): BusMessage | null {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof m !== 'object' || m === null || !TYPES.has((m as { type?: unknown }).type as string)) return null;
  const { type, id, seq, event } = m as { type: string; id?: unknown; seq?: unknown; event?: unknown };
  if ((type === 'event' || type === 'end' || type === 'cancel') && typeof id !== 'string') return null;
  if (type === 'event' && (typeof seq !== 'number' || typeof event !== 'object' || event === null || typeof (event as { type?: unknown }).type !== 'string')) return null;
  return m as BusMessage;
}

export class RedisBus implements JobBus {
  private readonly channel: string;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly listeners: Array<(m: BusMessage) => void> = [];

  private readonly log: Log;

  constructor(url: string, prefix: string, log: Log) {
    this.channel = `${prefix}:bus`;
    this.log = log;
    this.publisher = connectRedis(url, 'bus-out');
    this.subscriber = connectRedis(url, 'bus-in');
    this.subscriber.on('message', (_channel: string, text: string) => {
      const message = parseBusMessage(text);
      if (message) this.deliver(message);
      else this.log.warn({ channel: this.channel, bytes: text.length, text: text.slice(0, 200) }, 'dropped a message on the job bus that is not one of ours');
    });
    let connectedOnce = false;
    this.subscriber.on('ready', () => {
      if (connectedOnce) this.deliver({ type: 'resync' });
      connectedOnce = true;
    });
  }

  /** Resolves once the subscription is in place: nothing published after it is missed. */
  async open(): Promise<void> {
    await this.subscriber.subscribe(this.channel);
  }

  async publish(message: BusMessage): Promise<void> {
    await this.publisher.publish(this.channel, JSON.stringify(message));
  }

  subscribe(listener: (message: BusMessage) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.listeners.length = 0;
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }

  /** Each listener on its own: one that throws is logged, and the others, and the subscriber, go on. */
  private deliver(message: BusMessage): void {
    for (const listener of this.listeners) {
      try {
        listener(message);
      } catch (err) {
        this.log.error({ err, message: message.type }, 'a job bus listener failed');
      }
    }
  }
}
