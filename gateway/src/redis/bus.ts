// The job bus on Redis pub/sub: every gateway hears every job's events, ends
// and cancels. Pub/sub forgets what nobody heard, so whatever must last is in
// the store first; after a reconnect listeners are told to read it again
// ('resync'), since messages may have passed while the link was down.
import type { Redis } from 'ioredis';
import type { BusMessage, JobBus } from '../jobs/bus.ts';
import { connectRedis } from './connection.ts';

export class RedisBus implements JobBus {
  private readonly channel: string;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly listeners: Array<(m: BusMessage) => void> = [];

  constructor(url: string, prefix: string) {
    this.channel = `${prefix}:bus`;
    this.publisher = connectRedis(url, 'bus-out');
    this.subscriber = connectRedis(url, 'bus-in');
    this.subscriber.on('message', (_channel: string, text: string) => this.deliver(JSON.parse(text) as BusMessage));
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

  private deliver(message: BusMessage): void {
    for (const listener of this.listeners) listener(message);
  }
}
