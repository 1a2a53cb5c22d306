// The job machinery behind several gateways: store, bus and feed on one Redis
// (QUEUE_URL). Redis is checked before anything is built, and a setting that
// would lose jobs stops the start with its name.
import type { Config } from '../config.ts';
import type { WorkerDirectory } from '../workers/types.ts';
import { checkRedis, connectRedis, parseRedisUrl, redisProblem } from './connection.ts';
import { RedisStore } from './store.ts';
import { RedisBus } from './bus.ts';
import { RedisFeed } from './feed.ts';
import type { Log } from '../owned.ts';

export class RedisSetupError extends Error {}


export async function openRedisJobs(config: Config, directory: WorkerDirectory, log: Log) {
  const url = config.queueUrl!;
  const probe = connectRedis(url, 'check');
  try {
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new RedisSetupError(`${redisProblem(probe, parseRedisUrl(url)) ?? 'Redis did not answer'} (QUEUE_URL)`)), 10_000).unref(),
    );
    const { errors, warnings } = await Promise.race([checkRedis(probe), timeout]);
    for (const warning of warnings) log.warn({ queue: 'redis' }, warning);
    if (errors.length > 0) throw new RedisSetupError(errors.join('; '));
  } finally {
    probe.disconnect();
  }
  const prefix = config.queuePrefix;
  const store = await RedisStore.connect(url, { prefix });
  const bus = new RedisBus(url, prefix, log);
  await bus.open();
  const feed = new RedisFeed({ url, prefix, lockMs: config.queueLockSeconds * 1000, store, bus, directory, noWorkerGraceMs: 3000, log });
  return { store, bus, feed, storeName: 'redis' as const, streamSlots: feed.streamSlots };
}
