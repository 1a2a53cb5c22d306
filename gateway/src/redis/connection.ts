// Redis behind QUEUE_URL: parsing the URL, one way to connect, and the start
// checks for what BullMQ needs from the server. Reads INFO rather than CONFIG,
// which managed Redis services often disable.
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  password?: string;
  username?: string;
  tls: boolean;
  /** host:port/db, for messages and logs: never the password. */
  label: string;
}

/** The URL as it may be shown: the password replaced, whatever else is wrong with it. */
function shown(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}

export function parseRedisUrl(url: string): RedisTarget {
  const bad = (why: string) => new Error(`QUEUE_URL ${JSON.stringify(shown(url))} ${why}; expected redis://[user:password@]host[:port][/db] or rediss://… for TLS`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad('is not a URL');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw bad(`has the scheme ${parsed.protocol.slice(0, -1)}`);
  if (!parsed.hostname) throw bad('has no host');
  if (parsed.search || parsed.hash) throw bad('has a query or fragment, which is not supported');
  const dbText = parsed.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d{1,5}$/.test(dbText)) throw bad(`has the database number ${JSON.stringify(decodeURIComponent(dbText))}, not a whole number`);
  const port = parsed.port ? Number(parsed.port) : 6379;
  const db = dbText === '' ? 0 : Number(dbText);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 without its brackets, for connecting
  const target: RedisTarget = { host, port, db, tls: parsed.protocol === 'rediss:', label: `${parsed.hostname}:${port}/${db}` };
  if (parsed.username) target.username = decodeURIComponent(parsed.username);
  if (parsed.password) target.password = decodeURIComponent(parsed.password);
  return target;
}

// The last connection error per client: why it is not ready, for health and logs.
const lastError = new WeakMap<Redis, string>();

/** `overrides`: for a client that must fail fast rather than wait out an outage (the rate limit). */
export function connectRedis(url: string, name: string, overrides: Partial<RedisOptions> = {}): Redis {
  const target = parseRedisUrl(url);
  const client = new Redis({
    host: target.host,
    port: target.port,
    db: target.db,
    ...(target.username !== undefined && { username: target.username }),
    ...(target.password !== undefined && { password: target.password }),
    ...(target.tls && { tls: { servername: target.host } }),
    // Commands wait through an outage and are sent once Redis is back, instead
    // of failing the request that issued them (BullMQ requires null too).
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (attempt: number) => Math.min(200 * attempt, 1000), // forever, at most a second apart
    connectionName: `whisper-gateway-${name}`,
    ...overrides,
  });
  // Without a listener an unreachable Redis would be an unhandled 'error' event.
  client.on('error', (e: Error) => lastError.set(client, e.message || String(e)));
  client.on('ready', () => lastError.delete(client));
  return client;
}

/** Null while the client is connected; otherwise what is wrong, naming Redis and where. */
export function redisProblem(client: Redis, target: RedisTarget): string | null {
  if (client.status === 'ready') return null;
  const error = lastError.get(client);
  return `Redis at ${target.label} is unreachable (${error ?? `connection ${client.status}`})`;
}

function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

function versionBelow(version: string, minimum: string): boolean {
  const a = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < b.length; i++) if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) < b[i]!;
  return false;
}

/** What BullMQ needs from the server: errors are reasons to refuse to start, warnings are risks worth saying. */
export async function checkRedis(client: Redis): Promise<{ errors: string[]; warnings: string[] }> {
  const errors: string[] = [];
  const warnings: string[] = [];
  const server = infoFields(await client.info('server'));
  const memory = infoFields(await client.info('memory'));
  const persistence = infoFields(await client.info('persistence'));

  const version = server.get('redis_version');
  if (version && versionBelow(version, '6.2.0')) errors.push(`Redis ${version} is too old: BullMQ needs Redis 6.2.0 or newer`);
  else if (!version) warnings.push('Redis did not report redis_version (INFO server): BullMQ needs Redis 6.2.0 or newer');

  const policy = memory.get('maxmemory_policy');
  if (policy === undefined) {
    warnings.push('Redis did not report its maxmemory-policy (INFO memory): it must be noeviction, or Redis may evict queue keys under memory pressure and BullMQ loses jobs');
  } else if (policy !== 'noeviction') {
    errors.push(
      `Redis maxmemory-policy is ${policy}: it must be noeviction, or Redis evicts queue keys when memory runs short and BullMQ loses jobs. ` +
        'Set maxmemory-policy noeviction (in redis.conf, CONFIG SET maxmemory-policy noeviction, or the parameter group of a managed Redis)',
    );
  }

  if (persistence.get('aof_enabled') === '0') {
    warnings.push(
      'Redis appendonly is off (aof_enabled:0): jobs queued or running since the last RDB snapshot are lost if Redis restarts. ' +
        'Set appendonly yes for durable jobs',
    );
  }
  return { errors, warnings };
}
