// How a request presents an API key, and the check every guarded route runs
// (./guard.ts registers it). A key never appears in a log.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.ts';
import { keyName, type ApiKey } from '../api-keys.ts';

// A browser's WebSocket can set no header: OpenAI's realtime clients send the key as a subprotocol instead.
const KEY_PROTOCOL = 'openai-insecure-api-key.';

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key's name; null when the service is open. Jobs belong to it. */
    owner: string | null;
  }
  interface FastifyContextConfig {
    /**
     * The key may come as `?api_key=`: only on routes a browser opens without
     * headers (an EventSource, a WebSocket), never on every GET, where the key
     * would end up in proxies' logs and browser history for no reason.
     */
    keyInQuery?: boolean;
  }
}

/**
 * The key a request presents: Bearer (OpenAI's SDKs), X-API-Key, the
 * `openai-insecure-api-key.<key>` WebSocket subprotocol, or `api_key` in the
 * query where the route allows it.
 */
export function presentedKey(request: FastifyRequest): string | null {
  const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (bearer) return bearer.trim();
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header) return header;
  const protocols = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const keyed = protocols.find((p) => p.startsWith(KEY_PROTOCOL) && p.length > KEY_PROTOCOL.length);
  if (keyed) return keyed.slice(KEY_PROTOCOL.length);
  if (!request.routeOptions.config.keyInQuery) return null;
  const query = (request.query as Record<string, unknown> | undefined)?.api_key;
  return typeof query === 'string' && query ? query : null;
}

/** The name of the key the request presents, or null (none, or not valid). */
export function identify(keys: readonly ApiKey[], request: FastifyRequest): string | null {
  const key = presentedKey(request);
  return key === null ? null : keyName(keys, key);
}

/**
 * The key check of the guarded scope (../surface.ts): every route registered
 * in that scope needs a key, whatever its URL; a route outside it is public.
 */
export function requireKey(app: FastifyInstance, keys: readonly ApiKey[]): void {
  app.addHook('onRequest', async (request) => {
    const key = presentedKey(request);
    const name = key === null ? null : keyName(keys, key);
    if (name === null) {
      throw new ApiError(
        'invalid_api_key',
        key === null
          ? "This server needs an API key: send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."
          : 'The API key is not valid on this server.',
      );
    }
    request.owner = name;
  });
}

/** Hides `api_key` values in logged URLs: a key never appears in a log. */
export function redactKey(url: string): string {
  return url.replace(/([?&]api_key=)[^&]*/g, '$1[redacted]');
}
