// The gateway's parts stand in floors: a module may import from its own part
// or from a part on a lower floor, never from one above. This holds the
// layout docs/architecture.md draws; a new import that points up fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

// Top to bottom. Parts on one floor may not import each other either.
const FLOORS: string[][] = [
  ['server'],
  ['app'],
  ['realtime'],
  ['http'],
  ['redis'],
  ['jobs'],
  ['dispatch'],
  ['workers', 'formats'],
  ['protocol'],
  ['config'],
  ['api-keys', 'errors', 'owned'],
];

const floorOf = new Map(FLOORS.flatMap((parts, floor) => parts.map((part) => [part, floor] as const)));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

// A folder is a part; a file at the top of src/ is a part of its own.
function partOf(path: string): string | undefined {
  const rel = relative(SRC, path);
  if (rel.startsWith('..')) return undefined;
  const [head = '', ...rest] = rel.split('/');
  return rest.length > 0 ? head : head.replace(/\.ts$/, '');
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => resolve(dirname(file), m[1]!));
}

test('every part of the gateway has a floor', () => {
  const parts = new Set(sources(SRC).map((file) => partOf(file)!));
  const missing = [...parts].filter((part) => !floorOf.has(part));
  assert.deepEqual(missing, [], `give these parts a floor in ${relative(process.cwd(), fileURLToPath(import.meta.url))}`);
});

test('imports point down the floors, never up or across', () => {
  const wrong: string[] = [];
  for (const file of sources(SRC)) {
    const from = partOf(file)!;
    for (const target of imports(file)) {
      const to = partOf(target);
      if (to === undefined || to === from) continue;
      if (floorOf.get(to)! <= floorOf.get(from)!) wrong.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('the check sees an import that points up', () => {
  // The rule must be able to fail: jobs/ sits below http/.
  assert.ok(floorOf.get('http')! < floorOf.get('jobs')!);
  const upward = imports(join(SRC, 'app.ts')).map((target) => partOf(target));
  assert.ok(upward.includes('http'), 'app.ts imports http/: the parser reads imports');
});
