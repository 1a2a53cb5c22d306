// What faces the network. Two scopes, by construction rather than by URL:
// - the whole server: request targets in origin form only, CORS for the
//   origins listed, security headers;
// - the guarded scope (`guarded`): an encapsulated plugin that owns the API
//   key check and the rate limit (per key; per address when the service is
//   open; counted in Redis when gateways share one). Every route registered
//   inside it is guarded, whatever its URL; a route is public only if it is
//   registered outside it (app.ts), as Fastify's encapsulation docs do it for
//   bearer auth.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { Config } from '../config.ts';
import { ApiError } from '../errors.ts';
import { requireKey } from './keys.ts';
import { documentGuardedErrors } from './route-responses.ts';
import { connectRedis } from '../redis/connection.ts';

export async function protectServer(app: FastifyInstance, config: Config): Promise<void> {
  app.decorateRequest('owner', null);
  if (config.apiKeys.length === 0) app.log.warn('no API keys are set (API_KEYS_FILE, API_KEYS): anyone who can reach this port can use the service');
  // `GET http://host/api/jobs` (absolute form) is routed as /api/jobs: whatever decides on the target must see what the
  // router saw, and a proxy's form has no business reaching an origin server.
  app.addHook('onRequest', async (request) => {
    if (!request.raw.url?.startsWith('/')) {
      throw new ApiError('bad_request', `The request target must be a path beginning with '/' (origin form), not ${JSON.stringify((request.raw.url ?? '').slice(0, 100))}.`);
    }
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

/**
 * The guarded scope: registered with the routes as `app.register(guarded(config, routes))`.
 * The key check comes first (hooks run in order), so the rate limit counts the key's own requests.
 */
export function guarded(config: Config, routes: (scope: FastifyInstance) => void | Promise<void>): FastifyPluginAsync {
  return async (scope) => {
    documentGuardedErrors(scope, config.apiKeys.length > 0);
    if (config.apiKeys.length > 0) requireKey(scope, config.apiKeys);
    // Fails fast while Redis is away, and then requests are let through uncounted (skipOnError): the limit must not become an outage.
    const redis = config.queueUrl ? connectRedis(config.queueUrl, 'rate-limit', { maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1000 }) : null;
    if (redis) scope.addHook('onClose', async () => void redis.disconnect());
    await scope.register(rateLimit, {
      ...(redis && { redis, nameSpace: `${config.queuePrefix}:rate:`, skipOnError: true }),
      global: true,
      max: config.rateLimitPerMinute,
      timeWindow: 60_000,
      keyGenerator: (request) => (request.owner !== null ? `key:${request.owner}` : `ip:${request.ip}`),
      errorResponseBuilder: (_request, context) =>
        new ApiError('rate_limit_exceeded', `Rate limit reached: at most ${context.max} requests a minute (RATE_LIMIT_PER_MINUTE). Try again in ${context.after}.`),
    });
    await routes(scope);
  };
}
