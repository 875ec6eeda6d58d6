import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config';
import { DEFAULT_DETECTION_SETTINGS, detectRange } from '../../../src/detect';
import { importFiles } from '../../../src/ingest';
import { createLogger } from '../../../src/logger';
import { createApp, type App } from '../../../src/server/app';
import { startSimulator, writeExportFile, type RunningSimulator } from '../../../src/simulator';
import { createTestDatabase, type TestDatabase } from '../../support/db';

/** A running app over real data: simulator (live DPoD data) + its audit export imported into a fresh database. */
export interface SeededApp {
  app: App;
  url: string;
  sim: RunningSimulator;
  db: TestDatabase;
  /** Events imported. */
  events: number;
  stop(): Promise<void>;
}

/** Options for {@link startSeededApp}. */
export interface SeededAppOptions {
  env?: Record<string, string>;
  services?: number;
  clientsPerService?: number;
  eventsPerDay?: number;
  days?: number;
  /** Run the ingest follower in the app (default false). */
  follow?: boolean;
  /** The simulator's incidents (default false; they need 3 services with 4 clients each). */
  incidents?: boolean;
}

/** Starts the simulator, imports its last days of audit records, and serves them with the real schema. */
export async function startSeededApp(options: SeededAppOptions = {}): Promise<SeededApp> {
  const db = await createTestDatabase({ poolSize: 3 });
  const sim = await startSimulator({
    seed: 7,
    services: options.services ?? 2,
    clientsPerService: options.clientsPerService ?? 3,
    eventsPerDay: options.eventsPerDay ?? 300,
    days: options.days ?? 3,
    incidents: options.incidents ?? false,
  });
  const dir = await mkdtemp(join(tmpdir(), 'dpod-server-test-'));
  const now = sim.tenant.now();
  const file = join(dir, 'export.jsonl.gz');
  const { records } = await writeExportFile(
    sim.tenant,
    new Date(now.getTime() - (options.days ?? 3) * 86_400_000),
    now,
    file,
  );
  await importFiles({ db: db.db, pool: db.pool }, [file], { progressBar: false });
  // The detection rules over what was imported, as the demo runs them (the GraphiQL examples show findings).
  await detectRange(
    db.pool,
    { from: new Date(now.getTime() - (options.days ?? 3) * 86_400_000), to: now },
    DEFAULT_DETECTION_SETTINGS,
  );
  await rm(dir, { recursive: true, force: true });
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DB_POOL_SIZE: '3', ...options.env });
  const app = createApp(config, {
    logger: createLogger('silent'),
    databaseUrl: db.url,
    dpod: { apiUrl: sim.url, tokenUrl: sim.tokenUrl, clientId: sim.clientId, clientSecret: sim.clientSecret },
    follow: options.follow,
    follower: { pollIntervalMs: 100 },
  });
  const url = await app.start();
  return {
    app,
    url,
    sim,
    db,
    events: records,
    async stop() {
      await app.stop();
      await sim.stop();
      await db.drop();
    },
  };
}
