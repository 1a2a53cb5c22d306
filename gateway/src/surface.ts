// What faces the network: API keys, a rate limit per key (per address when the
// service is open; counted in Redis when gateways share one, so the limit is
// the deployment's, not each gateway's), CORS for the origins listed, security
// headers on the UI.
import type { FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { Config } from './config.ts';
import { ApiError } from './errors.ts';
import { registerAuth } from './auth.ts';
import { connectRedis } from './redis/connection.ts';

const isApi = (url: string) => url.startsWith('/api/') || url.startsWith('/v1/');

export async function protect(app: FastifyInstance, config: Config): Promise<void> {
  registerAuth(app, config.apiKeys);
  // Fails fast while Redis is away, and then requests are let through uncounted (skipOnError): the limit must not become an outage.
  const redis = config.queueUrl ? connectRedis(config.queueUrl, 'rate-limit', { maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1000 }) : null;
  if (redis) app.addHook('onClose', async () => void redis.disconnect());
  // After the key check (hooks run in order), so the count is the key's own.
  await app.register(rateLimit, {
    ...(redis && { redis, nameSpace: `${config.queuePrefix}:rate:`, skipOnError: true }),
    global: true,
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => (request.owner !== null ? `key:${request.owner}` : `ip:${request.ip}`),
    allowList: (request) => !isApi(request.url) || request.url.startsWith('/api/health'),
    errorResponseBuilder: (_request, context) =>
      new ApiError('rate_limit_exceeded', `Rate limit reached: at most ${context.max} requests a minute (RATE_LIMIT_PER_MINUTE). Try again in ${context.after}.`),
  });
  if (config.corsOrigins.length > 0) {
    await app.register(cors, { origin: config.corsOrigins, exposedHeaders: ['location', 'retry-after'], allowedHeaders: ['authorization', 'x-api-key', 'content-type', 'last-event-id'] });
  }
  // No inline script anywhere (the UI is built to files); /docs (Swagger UI) needs its inline styles.
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: true,
      // No upgrade-insecure-requests: on plain http from a LAN address it would send the page's own files to https.
      directives: { 'upgrade-insecure-requests': null, 'script-src': ["'self'"], 'style-src': ["'self'", "'unsafe-inline'"], 'img-src': ["'self'", 'data:', 'blob:'], 'media-src': ["'self'", 'blob:'], 'connect-src': ["'self'"] },
    },
    frameguard: { action: 'deny' },
    crossOriginEmbedderPolicy: false,
  });
}
