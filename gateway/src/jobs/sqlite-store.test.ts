// The store contract against SQLite in a file, opened again for each test.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteStore } from './sqlite-store.ts';
import { storeContract } from './store.contract.ts';

storeContract('sqlite', () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'jobs-db-')), 'jobs.sqlite');
  return () => new SqliteStore(file);
});
