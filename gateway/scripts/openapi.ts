// Prints the gateway's OpenAPI document (what GET /openapi.json answers) on
// stdout, without a worker, a network or a data directory of its own: the web
// UI's API types are generated from it (the Makefile's web target).
//   node scripts/openapi.ts > openapi.json
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build, type BuildOptions } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';

/** Workers that are never asked for anything: the document needs the routes, not jobs. */
const nowhere: BuildOptions['dispatch'] = {
  dispatcher: {
    submit() {
      throw new Error('openapi.ts runs no jobs');
    },
    counts: () => ({ waiting: 0, running: 0 }),
    close: async () => {},
  },
  directory: { workers: () => [], modelNames: () => [], models: () => [], ready: async () => {}, onChange: () => {} },
  streams: {
    streamLink: async () => {
      throw new Error('openapi.ts opens no streams');
    },
  },
  close: async () => {},
};

const dataDir = mkdtempSync(path.join(tmpdir(), 'openapi-'));
try {
  // Only the variables that place files: every other setting is its default, as on a server started with none
  // (API_KEYS unset: keys only add the security schemes, which the UI's types do not use).
  const config = loadConfig({ DATA_DIR: dataDir, WEB_DIR: path.join(dataDir, 'no-web') });
  const app = await build({ config, dispatch: nowhere, logger: false });
  await app.ready();
  process.stdout.write(`${JSON.stringify(app.swagger(), null, 2)}\n`);
  await app.close();
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
