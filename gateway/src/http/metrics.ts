// GET /metrics (Prometheus text format) and one log line per finished job.
// The plugin has its own Registry, not prom-client's global one: several apps
// in one process (the tests) would otherwise collide on metric names.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Dispatch } from '../dispatch/types.ts';
import type { WorkerDirectory, WorkerView } from '../workers/types.ts';
import type { JobService } from '../jobs/service.ts';
import type { Worker } from '../workers/worker.ts';
import { FINISHED, type JobRecord } from '../jobs/store.ts';
import { ApiError } from '../errors.ts';
import { identify } from './keys.ts';
import type { ApiKey } from '../api-keys.ts';

export interface MetricsOptions {
  dispatch: Dispatch;
  service: JobService;
  /** METRICS_TOKEN: when set, a scrape must send `Authorization: Bearer <token>`. */
  token: string | null;
  /** With API keys set and no token, a scrape needs a key: the metrics name workers, models and load. */
  keys: readonly ApiKey[];
}

/**
 * How a realtime session ended: transcribed (stored as a job), empty (no
 * final text, nothing stored), failed (its job could not be stored), refused
 * (REALTIME_MAX_SESSIONS reached: never opened).
 */
export const SESSION_OUTCOMES = ['transcribed', 'empty', 'failed', 'refused'] as const;
export type SessionOutcome = Exclude<(typeof SESSION_OUTCOMES)[number], 'refused'>;

export interface RealtimeMetrics {
  opened(): void;
  closed(outcome: SessionOutcome): void;
  refused(): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    realtimeMetrics: RealtimeMetrics;
  }
}

// Uploads of a long file and SSE streams last minutes, so the buckets reach far past prom-client's 10 s.
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];
const JOB_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];
// tiny on a GPU decodes well over 100x real time; large on a CPU well under 1x.
const RTF_BUCKETS = [0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500];

async function metrics(app: FastifyInstance, { dispatch, service, token, keys }: MetricsOptions): Promise<void> {
  const register = new Registry();
  const registers = [register];
  collectDefaultMetrics({ register, prefix: 'whisper_gateway_' });

  const requests = new Counter({ name: 'whisper_http_requests_total', help: 'HTTP requests answered, by route pattern, method and status', labelNames: ['route', 'method', 'status'], registers });
  // No status label: one series per route and method is enough to see slow routes, and keeps the bucket series few.
  const requestSeconds = new Histogram({ name: 'whisper_http_request_duration_seconds', help: 'HTTP request duration, arrival to last byte (a stream counts whole)', labelNames: ['route', 'method'], buckets: HTTP_BUCKETS, registers });

  const jobsTotal = new Counter({ name: 'whisper_jobs_total', help: 'Finished jobs by final status', labelNames: ['status'], registers });
  for (const status of FINISHED) jobsTotal.inc({ status }, 0); // present from the start, so rate() has a first point
  const jobSeconds = new Histogram({ name: 'whisper_job_duration_seconds', help: 'Job wall time, submit to finish, by final status', labelNames: ['status'], buckets: JOB_BUCKETS, registers });
  const audioSeconds = new Counter({ name: 'whisper_audio_seconds_total', help: 'Seconds of audio transcribed by succeeded jobs', labelNames: ['model', 'task'], registers });
  const realtime = new Histogram({ name: 'whisper_realtime_factor', help: 'Audio seconds per wall second of decoding, per succeeded job', labelNames: ['model'], buckets: RTF_BUCKETS, registers });

  // Behind several gateways these count the shared queue, not this gateway's part of it; nothing while the store is unreachable.
  const counts = async () => (service.storageProblem() ? null : await service.counts());
  new Gauge({ name: 'whisper_jobs_queued', help: 'Jobs waiting for a worker slot', registers, async collect() { const c = await counts(); if (c) this.set(c.waiting); } });
  new Gauge({ name: 'whisper_jobs_running', help: 'Jobs running on a worker', registers, async collect() { const c = await counts(); if (c) this.set(c.running); } });

  // Read at scrape time and reset first, so a worker that left the pool leaves the output too.
  const perWorker = (name: string, help: string, value: (w: WorkerView) => number | undefined) =>
    new Gauge({
      name, help, labelNames: ['worker'], registers,
      collect() {
        this.reset();
        for (const w of dispatch.directory.workers()) {
          const v = value(w);
          if (v !== undefined) this.set({ worker: w.address }, v);
        }
      },
    });
  perWorker('whisper_worker_up', '1 when the worker answers its status, else 0', (w) => (w.up ? 1 : 0));
  perWorker('whisper_worker_slots', 'Transcriptions the worker runs at once', (w) => w.slots);
  perWorker('whisper_worker_running', 'Transcriptions running on the worker, as its last status said', (w) => w.running);
  perWorker('whisper_worker_gpu_memory_bytes', 'GPU memory in use on the worker (absent on CPU workers and workers that are down)', (w) => (w.up ? gpuUsedBytes(dispatch.directory).get(w.address) : undefined));

  // Sessions live outside the HTTP metrics (an upgraded request has no response): their own gauge and outcomes.
  const sessionsOpen = new Gauge({ name: 'whisper_realtime_sessions_open', help: 'Realtime WebSocket sessions open now', registers });
  const sessionsTotal = new Counter({ name: 'whisper_realtime_sessions_total', help: 'Realtime sessions ended, by outcome', labelNames: ['outcome'], registers });
  for (const outcome of SESSION_OUTCOMES) sessionsTotal.inc({ outcome }, 0);
  app.decorate('realtimeMetrics', {
    opened: () => sessionsOpen.inc(),
    closed: (outcome: SessionOutcome) => {
      sessionsOpen.dec();
      sessionsTotal.inc({ outcome });
    },
    refused: () => sessionsTotal.inc({ outcome: 'refused' }),
  });

  app.addHook('onResponse', async (request, reply) => {
    // The pattern, never the raw URL: ids in paths would make a series per job.
    const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
    requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    requestSeconds.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });

  service.onFinished((job, worker) => {
    try {
      const wall = (job.finished_at! - job.created_at) / 1000;
      jobsTotal.inc({ status: job.status });
      jobSeconds.observe({ status: job.status }, wall);
      const result = job.result;
      if (job.status === 'succeeded' && result) {
        audioSeconds.inc({ model: result.model, task: result.task }, result.duration);
        if (result.timing.decode_seconds > 0) realtime.observe({ model: result.model }, result.duration / result.timing.decode_seconds);
      }
      app.log.info(jobLine(job, worker, wall), 'job finished');
    } catch (err) {
      // Called inside the service's finish(): a metrics fault must not stop a job from ending.
      app.log.error({ err, job: job.id }, 'job metrics failed');
    }
  });

  app.get('/metrics', { logLevel: 'warn', schema: { hide: true } }, async (request, reply) => {
    const allowed = token !== null ? bearerMatches(request.headers.authorization, token) || identify(keys, request) !== null
      : keys.length === 0 || identify(keys, request) !== null;
    if (!allowed) {
      void reply.header('www-authenticate', 'Bearer');
      throw new ApiError('invalid_api_key', `GET /metrics needs the header Authorization: Bearer <${token !== null ? 'METRICS_TOKEN' : 'an API key'}>.`);
    }
    return reply.type(register.contentType).send(await register.metrics());
  });
}

/** The fields a person greps for, joined to the HTTP lines by the job id of the 'job submitted' line (which has the reqId). */
function jobLine(job: JobRecord, worker: string | null, wall: number) {
  return {
    job: job.id,
    model: job.result?.model ?? job.request.model,
    task: job.request.options.task ?? 'transcribe',
    audio_seconds: job.result?.duration ?? job.duration,
    wall_seconds: wall,
    outcome: job.status,
    attempts: job.attempts,
    worker,
    ...(job.error && job.status !== 'succeeded' && { error: job.error.code }),
  };
}

/**
 * GPU memory is in the worker's raw status, which WorkerView (the routes' contract) does not carry: it is read
 * from the pool when the directory is one (it has list()), and absent otherwise.
 */
function gpuUsedBytes(directory: WorkerDirectory): Map<string, number> {
  const out = new Map<string, number>();
  const list = (directory as WorkerDirectory & { list?: () => Array<Pick<Worker, 'address' | 'status'>> }).list;
  for (const w of list ? list.call(directory) : []) {
    const used = w.status?.memory.gpu_used_bytes;
    if (typeof used === 'number') out.set(w.address, used);
  }
  return out;
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1] ?? '';
  // Digests have one length, so the comparison takes the same time however much of the token was right.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return given !== '' && timingSafeEqual(digest(given), digest(token));
}

// skip-override (what fastify-plugin sets): the onResponse hook must see every route, not only this plugin's own.
export const metricsPlugin: FastifyPluginAsync<MetricsOptions> = Object.assign(metrics, { [Symbol.for('skip-override')]: true });
