// API keys: read from the configuration, kept as SHA-256 digests only
// (API_KEYS_FILE holds no secret in clear), and a presented key matched by its
// digest against every one in constant time. How a request presents a key is
// the HTTP edge's (./http/keys.ts).
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

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
