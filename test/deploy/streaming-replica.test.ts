import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../../src/config';
import { createDatabase, type DatabaseHandle } from '../../src/db/connection';
import { migrateToLatest } from '../../src/db/migrate';
import { ReadRouter } from '../../src/db/read-router';
import { importFiles } from '../../src/ingest';
import { createLogger } from '../../src/logger';
import { createApp, type App } from '../../src/server/app';
import { createTenant, writeExportFile } from '../../src/simulator';
import { gql } from '../server/support/http';
import { replicaBinariesPresent, startReplicaPair, type ReplicaPair } from '../support/replica-pair';

// A real streaming replica: a fresh primary cluster and a hot standby made from it with pg_basebackup.
const NOW = new Date('2026-11-20T00:00:00Z');
const DAY = 86_400_000;

let pair: ReplicaPair;
let primary: DatabaseHandle;
let standby: pg.Client;
let dir: string;
const tenant = createTenant({ seed: 5, services: 1, clientsPerService: 2, eventsPerDay: 200, days: 3, now: () => NOW });

async function importDay(day: number): Promise<number> {
  const file = join(dir, `day-${day}.jsonl.gz`);
  const from = new Date(NOW.getTime() - (3 - day) * DAY);
  await writeExportFile(tenant, from, new Date(from.getTime() + DAY), file);
  const [summary] = await importFiles({ db: primary.db, pool: primary.pool }, [file], { progressBar: false });
  expect(summary?.state).toBe('succeeded');
  return summary?.inserted ?? 0;
}

const countOn = async (client: pg.Client | pg.Pool) =>
  Number((await client.query<{ n: string }>('select count(*) as n from audit_events')).rows[0]?.n);

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const caughtUp = () => until(async () => (await countOn(standby)) === (await countOn(primary.pool)), 'the standby');

async function startAppWith(maxLag: string): Promise<{ app: App; url: string }> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    DB_POOL_SIZE: '2',
    DATABASE_READ_URL: pair.standbyUrl,
    DATABASE_READ_MAX_LAG_SECONDS: maxLag,
  });
  const app = createApp(config, { logger: createLogger('silent'), databaseUrl: pair.primaryUrl });
  return { app, url: await app.start() };
}

const total = async (url: string) => {
  const res = await gql<{ auditEvents: { totalCount: number; aggregate: { count: number } } }>(
    url,
    '{ auditEvents(first: 5) { totalCount nodes { id } aggregate { count } } }',
  );
  expect(res.body.errors).toBeUndefined();
  return { page: res.body.data?.auditEvents.totalCount, aggregate: res.body.data?.auditEvents.aggregate.count };
};

beforeAll(async () => {
  if (!replicaBinariesPresent()) throw new Error('PostgreSQL server binaries (initdb, pg_basebackup) are missing');
  dir = mkdtempSync(join(tmpdir(), 'streaming-replica-'));
  pair = await startReplicaPair();
  primary = createDatabase({ url: pair.primaryUrl, poolSize: 3 });
  await migrateToLatest(primary.db);
  standby = new pg.Client({ connectionString: pair.standbyUrl });
  await standby.connect();
  expect((await standby.query<{ r: boolean }>('select pg_is_in_recovery() as r')).rows[0]?.r).toBe(true);
  await importDay(0);
  await caughtUp();
}, 120_000);

afterAll(async () => {
  await standby?.end().catch(() => undefined);
  await primary?.destroy();
  await pair?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a real streaming replica behind DATABASE_READ_URL', () => {
  it('serves pages and aggregates from the replica while it keeps up', async () => {
    const { app, url } = await startAppWith('3600');
    try {
      const before = await countOn(primary.pool);
      expect(await total(url)).toEqual({ page: before, aggregate: before });
      // Hold the standby's replay: what the primary stores now is not on the replica, so answers show it is the replica.
      await standby.query('select pg_wal_replay_pause()');
      const added = await importDay(1);
      expect(added).toBeGreaterThan(0);
      expect(await total(url)).toEqual({ page: before, aggregate: before });
      await standby.query('select pg_wal_replay_resume()');
      await caughtUp();
      expect(await total(url)).toEqual({ page: before + added, aggregate: before + added });
    } finally {
      await standby.query('select pg_wal_replay_resume()').catch(() => undefined);
      await app.stop();
    }
  });

  it('sends reads to the primary once the replica lags more than DATABASE_READ_MAX_LAG_SECONDS, and says so', async () => {
    const { app, url } = await startAppWith('1');
    try {
      await standby.query('select pg_wal_replay_pause()');
      const added = await importDay(2);
      const onPrimary = await countOn(primary.pool);
      // Within the lag bound plus one measurement (1 s), reads see the commit: from the primary.
      await until(async () => (await total(url)).page === onPrimary, 'reads to reach the primary');
      expect(added).toBeGreaterThan(0);
      expect(await countOn(standby)).toBe(onPrimary - added);
      const ready = (await (await fetch(`${url}/readyz`)).json()) as { checks: { replica: Record<string, unknown> } };
      expect(ready.checks.replica).toMatchObject({ ok: true, serving: false });
      expect(String(ready.checks.replica.detail)).toMatch(
        /behind \(more than DATABASE_READ_MAX_LAG_SECONDS=1\): reads go to the primary/,
      );
      await standby.query('select pg_wal_replay_resume()');
      await caughtUp();
      await until(async () => {
        const r = (await (await fetch(`${url}/readyz`)).json()) as { checks: { replica: { serving: boolean } } };
        return r.checks.replica.serving;
      }, 'the replica to serve again');
    } finally {
      await standby.query('select pg_wal_replay_resume()').catch(() => undefined);
      await app.stop();
    }
  });

  it('runs a read the standby cancels for a recovery conflict once more on the primary, without an error', async () => {
    const replicaPool = new pg.Pool({ connectionString: pair.standbyUrl, max: 2 });
    const router = new ReadRouter({ primary: primary.pool, replica: replicaPool, maxLagSeconds: 3600 });
    try {
      await router.start();
      expect(router.current().serving).toBe(true);
      const read = sql<{ on: boolean; n: string }>`
        select pg_is_in_recovery() as on, count(*)::text as n from audit_events, pg_sleep(1.5)`.execute(
        router.kysely(),
      );
      await new Promise((r) => setTimeout(r, 400));
      // An ACCESS EXCLUSIVE lock on the primary must be replayed on the standby: the running read stands in its way.
      const { rows: parts } = await primary.pool.query<{ name: string }>(
        "select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'audit_events'::regclass limit 1",
      );
      const locker = await primary.pool.connect();
      try {
        await locker.query('begin');
        await locker.query(`lock table ${parts[0]?.name ?? 'audit_events'} in access exclusive mode`);
        await locker.query('commit');
      } finally {
        locker.release();
      }
      const { rows } = await read;
      expect(rows).toEqual([{ on: false, n: String(await countOn(primary.pool)) }]);
      expect(router.retriedOnPrimary).toBe(1);
    } finally {
      router.stop();
      await replicaPool.end();
    }
  });

  it('keeps serving from the primary when the replica goes away', async () => {
    const { app, url } = await startAppWith('30');
    try {
      const onPrimary = await countOn(primary.pool);
      expect((await total(url)).page).toBe(onPrimary);
      await standby.end();
      await pair.stopStandby();
      expect(await total(url)).toEqual({ page: onPrimary, aggregate: onPrimary });
      await until(async () => {
        const r = (await (await fetch(`${url}/readyz`)).json()) as { checks: { replica: { detail?: string } } };
        return /unreachable: .*reads go to the primary/.test(r.checks.replica.detail ?? '');
      }, '/readyz to report the replica gone');
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      await app.stop();
    }
  });
});
