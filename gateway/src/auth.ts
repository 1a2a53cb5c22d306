// API keys. Kept as SHA-256 digests only (API_KEYS_FILE holds no secret in
// clear); a presented key is hashed and compared with every digest in
// constant time. With no key configured the service is open, and says so.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './errors.ts';

export interface ApiKey {
  name: string;
  sha256: Buffer;
}

export class KeyError extends Error {}

const digest = (key: string) => createHash('sha256').update(key, 'utf8').digest();

/** From API_KEYS_FILE (`name:sha256-hex` lines) or API_KEYS (`name:key,…`); [] = open. */
export function loadApiKeys(env: NodeJS.ProcessEnv): ApiKey[] {
  const keys: ApiKey[] = [];
  if (env.API_KEYS_FILE) {
    const lines = readFileSync(env.API_KEYS_FILE, 'utf8').split('\n').map((l) => l.trim());
    lines.forEach((line, i) => {
      if (!line || line.startsWith('#')) return;
      const m = /^([^:\s]+):([0-9a-f]{64})$/i.exec(line);
      if (!m) throw new KeyError(`API_KEYS_FILE line ${i + 1} is not name:sha256-hex (64 hex digits)`);
      keys.push({ name: m[1]!, sha256: Buffer.from(m[2]!, 'hex') });
    });
  }
  for (const pair of (env.API_KEYS ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const at = pair.indexOf(':');
    if (at <= 0 || at === pair.length - 1) throw new KeyError(`API_KEYS: an entry is not name:key (the entry for '${pair.slice(0, Math.max(at, 0)) || '?'}')`);
    keys.push({ name: pair.slice(0, at), sha256: digest(pair.slice(at + 1)) });
  }
  const names = keys.map((k) => k.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new KeyError(`API key name '${twice}' is used twice: jobs belong to a key's name, so names must differ`);
  return keys;
}

/** The name of the key, or null. Every digest is compared, so the time does not say which matched. */
export function keyName(keys: readonly ApiKey[], presented: string): string | null {
  const candidate = digest(presented);
  let found: string | null = null;
  for (const key of keys) if (timingSafeEqual(key.sha256, candidate) && found === null) found = key.name;
  return found;
}

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
