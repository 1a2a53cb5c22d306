// The Lua scripts of the Redis store and of the slot leases: one file each in
// ./scripts/, each saying what it does, its KEYS and its ARGV. A script's text
// is read from the source tree once, when the module that names it is loaded
// (found next to this file, so wherever the gateway runs its .ts files from),
// and defined on each client with ioredis's defineCommand: a connection is
// sent a script's text once (EVAL), then only its SHA1 (EVALSHA), and the text
// again if Redis answers NOSCRIPT (it restarted, or its scripts were flushed).
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

export interface LuaScript {
  /** Its file in ./scripts/, without .lua. */
  readonly file: string;
  readonly lua: string;
  /** How many KEYS it takes; undefined: as many as each call says, in its first argument. */
  readonly numberOfKeys: number | undefined;
}

const texts = new Map<string, string>();

/** ./scripts/<file>.lua, read from disk the first time it is named. */
export function lua(file: string, numberOfKeys?: number): LuaScript {
  let text = texts.get(file);
  if (text === undefined) {
    text = readFileSync(new URL(`./scripts/${file}.lua`, import.meta.url), 'utf8');
    texts.set(file, text);
  }
  return { file, lua: text, numberOfKeys };
}

export type ScriptCommands<N extends string> = { [K in N]: (...args: Array<string | number>) => Promise<unknown> };

/** Defines each script on `client` as a command of its name (`client.<name>(...keys, ...argv)`). */
export function defineScripts<N extends string>(client: Redis, scripts: Record<N, LuaScript>): Redis & ScriptCommands<N> {
  for (const [name, script] of Object.entries<LuaScript>(scripts)) {
    client.defineCommand(name, script.numberOfKeys === undefined ? { lua: script.lua } : { lua: script.lua, numberOfKeys: script.numberOfKeys });
  }
  return client as Redis & ScriptCommands<N>;
}
