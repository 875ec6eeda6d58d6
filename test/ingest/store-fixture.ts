import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/db';

/** A test database and a temporary directory for the file's tests; both are set in beforeAll. */
export interface IngestStore {
  t: TestDatabase;
  dir: string;
}

/**
 * Registers the hooks of an ingest test file: a fresh test database and a temporary directory (named after
 * `prefix`), removed after the file; with `truncateEach`, the store is emptied before every test.
 */
export function useIngestStore(prefix: string, options: { truncateEach?: boolean } = {}): IngestStore {
  const store = { t: undefined as unknown as TestDatabase, dir: '' };
  beforeAll(async () => {
    store.t = await createTestDatabase();
    store.dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await store.t?.drop();
    if (store.dir) rmSync(store.dir, { recursive: true, force: true });
  });
  if (options.truncateEach) beforeEach(() => store.t.truncate());
  return store;
}
