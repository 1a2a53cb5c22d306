// build(): the whole gateway as a Fastify app that does not listen yet, so
// tests can start it on any port and close it.
import { MAX_KNOWN_SPEAKERS } from './http/speakers.ts';
import { MAX_REFERENCE_BYTES } from './http/references.ts';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import { existsSync, mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { hostname } from 'node:os';
import type { Config } from './config.ts';
import type { Dispatch } from './dispatch/types.ts';
import { ApiError } from './errors.ts';
import { errorHandler } from './http/error-handler.ts';
import { guarded, protectServer } from './http/guard.ts';
import { redactKey } from './http/keys.ts';
import { apiRoutes, healthRoute } from './http/routes/api.ts';
import { detectLanguageRoutes } from './http/routes/detect-language.ts';
import { RouteTable } from './http/routes/table.ts';
import { viewJob } from './http/job-object.ts';
import { ApiTranscribeForm, JobForm, mostParts, OpenAITranscriptionForm, OpenAITranslationForm } from './http/schemas.ts';
import { SECURITY_SCHEMES } from './http/route-responses.ts';
import { DetectLanguageForm } from './http/language-detection.ts';
import { openaiRoutes } from './http/routes/openai.ts';
import { realtimeRoutes, registerWebSockets } from './realtime/route.ts';
import { subtitleRoutes } from './http/routes/subtitles.ts';
import { jobRoutes } from './http/routes/jobs.ts';
import { metricsPlugin } from './http/metrics.ts';
import { JobService } from './jobs/service.ts';
import { SqliteStore } from './jobs/sqlite-store.ts';
import { AudioFiles } from './jobs/audio-files.ts';
import { LocalBus } from './jobs/bus.ts';
import { LocalFeed } from './jobs/feed.ts';
import { openRedisJobs } from './redis/index.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The durable jobs: server.ts drains it on SIGTERM. */
    jobService: JobService;
  }
}

export interface BuildOptions {
  config: Config;
  dispatch: Dispatch;
  logger?: boolean | object;
}

export async function build({ config, dispatch, logger }: BuildOptions): Promise<FastifyInstance> {
  // verbose: validation errors carry the schema that refused, so messages can say what is accepted;
  // unknown fields are refused by name rather than dropped in silence.
  const app = Fastify({
    logger: logger === false ? false : { level: config.logLevel, ...(typeof logger === 'object' ? logger : {}), serializers: { req: requestForLog } },
    bodyLimit: 1 << 20,
    // The request id is the job's id, and the worker logs `<job id>/<attempt>`: one id joins the gateway's and the worker's lines.
    genReqId: () => randomUUID(),
    ajv: { customOptions: { verbose: true, removeAdditional: false } },
    // Headers must arrive within HEADERS_TIMEOUT_SECONDS (else 408); an upload's pace is watched in uploads.ts.
    http: { headersTimeout: config.headersTimeoutSeconds * 1000, connectionsCheckingInterval: 1000 },
  });
  await registerWebSockets(app);
  await protectServer(app, config);
  const routes = new RouteTable(app);
  app.decorate('routeTable', routes);
  // The audio, and a reference clip for each known speaker (file parts, or data URLs: fields of up to MAX_REFERENCE_BYTES as base64).
  const fields = mostParts(ApiTranscribeForm, JobForm, OpenAITranscriptionForm, OpenAITranslationForm, DetectLanguageForm);
  await app.register(multipart, { limits: { fileSize: config.maxUploadBytes, files: 1 + MAX_KNOWN_SPEAKERS, fields, fieldSize: Math.ceil(MAX_REFERENCE_BYTES * 4 / 3) + 256 } });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Whisper service', version: '0.1.0', description: 'Speech to text with Whisper: the original REST API and an OpenAI-compatible audio API.' },
      tags: [
        { name: 'api', description: 'The original REST API' },
        { name: 'jobs', description: 'Durable jobs: submit, follow, fetch the result later' },
        { name: 'openai', description: 'OpenAI audio API, drop-in' },
      ],
      ...(config.apiKeys.length > 0 && { components: { securitySchemes: SECURITY_SCHEMES } }),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.setErrorHandler(errorHandler);
  const service = await openJobs(config, dispatch, app.log);
  app.decorate('jobService', service);
  await app.register(metricsPlugin, { dispatch, service, token: config.metricsToken, keys: config.apiKeys });
  app.addHook('preClose', async () => service.endLiveReaders()); // open event streams would hold the server open
  app.addHook('onClose', async () => service.close());
  app.setNotFoundHandler((request, reply) => routes.notFound(request, reply));
  // Public, by being registered here: the health probe (in full only with a key), the API's description, the UI.
  healthRoute(app, config, dispatch, service);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // Everything else needs a key when keys are set: it is registered inside the guarded scope.
  await app.register(guarded(config, (api) => {
    apiRoutes(api, config, dispatch, service);
    detectLanguageRoutes(api, config, dispatch, service);
    openaiRoutes(api, config, dispatch, service);
    realtimeRoutes(api, config, dispatch, service);
    jobRoutes(api, config, dispatch, service);
    subtitleRoutes(api);
  }));
  if (existsSync(config.webDir)) {
    await app.register(fastifyStatic, { root: config.webDir, prefix: '/' });
  } else {
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/html').send(`<!doctype html><title>Whisper service</title><p>The web UI is not built: run <code>make web</code>. The API is at <a href="/docs">/docs</a>.</p>`),
    );
  }
  return app;
}

/**
 * The job service over its store, bus and feed: SQLite in DATA_DIR for one
 * gateway, or Redis (QUEUE_URL) shared by several; audio files in DATA_DIR
 * either way. Recovers what a crash left, then runs jobs.
 */
async function openJobs(config: Config, dispatch: Dispatch, log: FastifyBaseLogger): Promise<JobService> {
  mkdirSync(config.dataDir, { recursive: true });
  const shared = config.queueUrl !== null;
  const parts = shared ? await openRedisJobs(config, dispatch.directory, log) : localJobs(config, dispatch, log);
  if ('streamSlots' in parts) dispatch.streams.shareSlots?.(parts.streamSlots);
  const service = new JobService({
    ...parts,
    dispatcher: dispatch.dispatcher,
    webhookPayload: (job) => viewJob(service, job),
    // Gateways sharing DATA_DIR each clear only their own uploads folder at start.
    audio: new AudioFiles(config.dataDir, shared ? `${hostname()}-${config.port}` : null),
    retentionHours: config.jobRetentionHours,
    keepAudio: config.keepAudio,
    webhooks: { secret: config.webhookSecret, allowedHosts: config.webhookAllowedHosts },
    log,
  });
  await service.start();
  return service;
}

function localJobs(config: Config, dispatch: Dispatch, log: FastifyBaseLogger) {
  const store = new SqliteStore(path.join(config.dataDir, 'jobs.sqlite'));
  return { store, bus: new LocalBus(), feed: new LocalFeed(store, () => dispatch.dispatcher.counts(), log), storeName: 'sqlite' as const };
}

/** What a request line logs: never an API key, not even one passed in the query. */
function requestForLog(request: { method: string; url: string; ip?: string; id?: string }) {
  return { method: request.method, url: redactKey(request.url), remoteAddress: request.ip };
}
