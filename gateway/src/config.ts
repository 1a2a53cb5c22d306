// Configuration: read from the environment once at start, validated, frozen.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeyError, loadApiKeys, type ApiKey } from './api-keys.ts';

export interface Config {
  host: string;
  port: number;
  workers: string[];
  maxUploadBytes: number;
  requestTimeoutMs: number;
  defaultModel: string;
  modelAliases: Record<string, string>;
  webDir: string;
  logLevel: string;
  /** Job records, their events and uploaded audio (SQLite + files). */
  dataDir: string;
  jobRetentionHours: number;
  /** KEEP_AUDIO: a succeeded job's audio is kept for playback (GET /api/jobs/{id}/audio) as long as the job; false: deleted when it ends. */
  keepAudio: boolean;
  shutdownGraceSeconds: number;
  /** Standard Webhooks secret (whsec_…); callbacks are off unless allowed hosts are set. */
  webhookSecret: string | null;
  webhookAllowedHosts: string[];
  /** Empty: the service is open. */
  apiKeys: readonly ApiKey[];
  rateLimitPerMinute: number;
  maxJobsPerKey: number;
  /** An upload slower than this over UPLOAD_RATE_WINDOW_SECONDS is cut off (408). */
  minUploadBytesPerSecond: number;
  uploadRateWindowSeconds: number;
  headersTimeoutSeconds: number;
  /** Origins allowed to call the API from a browser; empty = same origin only. */
  corsOrigins: string[];
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: string | null;
  /** WORKER_TOKEN: the workers' shared secret, sent in `hello` on every connection to them. */
  workerToken: string | null;
  /** QUEUE_URL (redis://host:port/db): jobs in BullMQ on Redis, shared by every gateway that names it; null: SQLite in DATA_DIR. */
  queueUrl: string | null;
  /** Every Redis key starts with it: several deployments can share one Redis. */
  queuePrefix: string;
  /** How long a job's lock outlives its gateway: a gateway killed mid-job has its jobs taken over after about this. */
  queueLockSeconds: number;
  /** Realtime WebSocket sessions open at once on this gateway; 0 turns the realtime API off. */
  realtimeMaxSessions: number;
  /** Realtime sessions one API key may have open at once on this gateway (with keys set). */
  realtimeMaxSessionsPerKey: number;
  /** A worker down this long (its heartbeat unanswered) loses the jobs running on it: they go elsewhere. */
  workerLostSeconds: number;
}

export class ConfigError extends Error {}

const here = path.dirname(fileURLToPath(import.meta.url));

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new ConfigError(`${name}=${raw} must be an integer >= ${min}`);
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '') return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name}=${env[name]} must be true or false`);
}

function aliases(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [alias, model] = pair.split('=').map((s) => s.trim());
    if (!alias || !model) throw new ConfigError(`OPENAI_MODEL_ALIASES: '${pair}' is not alias=model`);
    out[alias] = model;
  }
  return out;
}

function webhooks(env: NodeJS.ProcessEnv): Pick<Config, 'webhookSecret' | 'webhookAllowedHosts'> {
  const hosts = (env.WEBHOOK_ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  const secret = env.WEBHOOK_SECRET || null;
  if (hosts.length > 0 && !secret) throw new ConfigError('WEBHOOK_ALLOWED_HOSTS is set but WEBHOOK_SECRET is not: callbacks are always signed (a whsec_… secret)');
  return { webhookSecret: secret, webhookAllowedHosts: hosts };
}

function apiKeys(env: NodeJS.ProcessEnv): readonly ApiKey[] {
  try {
    return Object.freeze(loadApiKeys(env));
  } catch (e) {
    if (e instanceof KeyError || (e as NodeJS.ErrnoException).code === 'ENOENT') throw new ConfigError((e as Error).message);
    throw e;
  }
}

function queueUrl(env: NodeJS.ProcessEnv): string | null {
  const url = env.QUEUE_URL || null;
  if (url && !/^rediss?:\/\//.test(url)) throw new ConfigError(`QUEUE_URL=${url.replace(/\/\/[^@/]*@/, '//…@')} must be redis://host:port/db (or rediss:// for TLS)`);
  return url;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const workerHost = env.WHISPER_HOST || '127.0.0.1';
  const workerPort = integer(env, 'WHISPER_PORT', 9000, 1);
  const workers = (env.WHISPER_WORKERS ?? '').split(',').map((w) => w.trim()).filter(Boolean);
  for (const w of workers) if (!/^\[?[^\]\s]+\]?:\d+$/.test(w)) throw new ConfigError(`WHISPER_WORKERS: '${w}' is not host:port`);
  return Object.freeze({
    host: env.SERVER_HOST || '0.0.0.0',
    port: integer(env, 'SERVER_PORT', 8080, 0),
    workers: workers.length ? workers : [`${workerHost}:${workerPort}`],
    maxUploadBytes: integer(env, 'MAX_UPLOAD_BYTES', 1 << 30, 1),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 0, 0),
    defaultModel: env.DEFAULT_MODEL || 'base',
    modelAliases: Object.freeze(aliases(env.OPENAI_MODEL_ALIASES ?? 'whisper-1=base,gpt-4o-transcribe-diarize=base')),
    webDir: path.resolve(here, '..', env.WEB_DIR || '../web/dist'),
    logLevel: env.LOG_LEVEL || 'info',
    dataDir: path.resolve(env.DATA_DIR || 'data'),
    jobRetentionHours: integer(env, 'JOB_RETENTION_HOURS', 168, 0),
    keepAudio: flag(env, 'KEEP_AUDIO', true),
    shutdownGraceSeconds: integer(env, 'SHUTDOWN_GRACE_SECONDS', 30, 0),
    ...webhooks(env),
    apiKeys: apiKeys(env),
    rateLimitPerMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 600, 1),
    maxJobsPerKey: integer(env, 'MAX_JOBS_PER_KEY', 100, 1),
    minUploadBytesPerSecond: integer(env, 'MIN_UPLOAD_BYTES_PER_SECOND', 8192, 0),
    uploadRateWindowSeconds: integer(env, 'UPLOAD_RATE_WINDOW_SECONDS', 30, 1),
    headersTimeoutSeconds: integer(env, 'HEADERS_TIMEOUT_SECONDS', 20, 1),
    corsOrigins: (env.CORS_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    metricsToken: env.METRICS_TOKEN || null,
    workerToken: env.WORKER_TOKEN || null,
    queueUrl: queueUrl(env),
    queuePrefix: env.QUEUE_PREFIX || 'whisper',
    queueLockSeconds: integer(env, 'QUEUE_LOCK_SECONDS', 30, 2),
    realtimeMaxSessions: integer(env, 'REALTIME_MAX_SESSIONS', 16, 0),
    realtimeMaxSessionsPerKey: integer(env, 'REALTIME_MAX_SESSIONS_PER_KEY', 4, 1),
    workerLostSeconds: integer(env, 'WORKER_LOST_SECONDS', 60, 1),
  });
}
