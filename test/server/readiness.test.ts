import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { createDatabase, type DatabaseHandle } from '../../src/db/connection';
import { freePort } from '../../src/db/embedded';
import { createLogger } from '../../src/logger';
import { createApp } from '../../src/server/app';
import { createReadiness } from '../../src/server/http/readiness';
import { ReadRouter } from '../../src/db/read-router';
import { migrations } from '../../migrations';
import { createEmptyDatabase, createTestDatabase, dropDatabase, urlFor, type TestDatabase } from '../support/db';
import { containing, matching } from '../support/matchers';

describe('/readyz migrations check', () => {
  let current: TestDatabase;
  let emptyName: string;
  let empty: DatabaseHandle;
  beforeAll(async () => {
    current = await createTestDatabase({ poolSize: 2 });
    emptyName = await createEmptyDatabase();
    empty = createDatabase({ url: urlFor(emptyName), poolSize: 2 });
  });
  afterAll(async () => {
    await current?.drop();
    await empty?.destroy();
    if (emptyName) await dropDatabase(emptyName);
  });

  it('is ready on a current database', async () => {
    const report = await createReadiness({ db: current.db })();
    expect(report).toEqual({
      ready: true,
      checks: containing({ database: { ok: true }, migrations: { ok: true } }),
    });
  });

  it('is not ready on a database missing migrations this version knows, and lists them', async () => {
    const report = await createReadiness({ db: empty.db })();
    const pending = Object.keys(migrations);
    expect(report).toEqual({
      ready: false,
      checks: containing({
        database: { ok: true },
        migrations: { ok: false, detail: `pending migrations: ${pending.join(', ')}`, pending },
      }),
    });
  });

  it('is ready on a database a newer version migrated, and says so', async () => {
    await sql`insert into schema_migrations (name, timestamp) values ('29990101_0001_newer', ${new Date().toISOString()})`.execute(
      current.db,
    );
    const report = await createReadiness({ db: current.db })();
    expect(report).toEqual({
      ready: true,
      checks: containing({
        migrations: {
          ok: true,
          detail:
            'the database is ahead of this version of dpod-audit: it has 1 migration(s) this version does not know (29990101_0001_newer), applied by a newer version; this version runs on it without migrating',
          unknown: ['29990101_0001_newer'],
        },
      }),
    });
  });
});

describe('/readyz read replica check', () => {
  let primary: TestDatabase;
  beforeAll(async () => {
    primary = await createTestDatabase({ poolSize: 2 });
  });
  afterAll(async () => primary?.drop());

  it('reports the replica as not configured without DATABASE_READ_URL', async () => {
    const report = await createReadiness({ db: primary.db })();
    expect(report).toEqual({
      ready: true,
      checks: containing({ replica: { ok: true, detail: 'not configured' } }),
    });
  });

  it('stays ready when the replica refuses connections, and says reads go to the primary', async () => {
    const replica = createDatabase({ url: `postgres://postgres@127.0.0.1:${await freePort()}/none`, poolSize: 2 });
    const router = new ReadRouter({ primary: primary.pool, replica: replica.pool, maxLagSeconds: 30 });
    try {
      await router.start();
      const report = await createReadiness({ db: primary.db, replica: () => router.current() })();
      expect(report).toEqual({
        ready: true,
        checks: containing({
          database: { ok: true },
          replica: {
            ok: true,
            serving: false,
            lagSeconds: null,
            detail: matching(
              /^read replica \(DATABASE_READ_URL\) unreachable: .*ECONNREFUSED.*; reads go to the primary$/,
            ),
          },
        }),
      });
      // Reads through the router still answer, from the primary.
      const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(router.kysely());
      expect(rows).toEqual([{ db: primary.name }]);
    } finally {
      router.stop();
      await replica.destroy();
    }
  });

  it('keeps a running server serving from the primary when its replica goes away', async () => {
    const replica = await createTestDatabase({ poolSize: 1 });
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      DB_POOL_SIZE: '2',
      DATABASE_READ_URL: replica.url,
    });
    const app = createApp(config, { logger: createLogger('silent'), databaseUrl: primary.url });
    try {
      const url = await app.start();
      const before = await fetch(`${url}/readyz`);
      expect({
        status: before.status,
        replica: ((await before.json()) as { checks: { replica: unknown } }).checks.replica,
      }).toEqual({
        status: 200,
        replica: { ok: true, serving: true, lagSeconds: 0 },
      });
      await replica.drop();
      // The router notices within a poll (1 s); meanwhile a read that fails on the replica is run on the primary.
      const answer = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ auditEvents { totalCount } }' }),
      });
      expect(await answer.json()).toEqual({ data: { auditEvents: { totalCount: 0 } } });
      await new Promise((r) => setTimeout(r, 1500));
      const after = await fetch(`${url}/readyz`);
      const body: unknown = await after.json();
      expect({ status: after.status, body }).toEqual({
        status: 200,
        body: containing({
          checks: containing({
            database: { ok: true },
            replica: containing({
              ok: true,
              serving: false,
              detail: matching(/^read replica \(DATABASE_READ_URL\) unreachable: .*reads go to the primary$/),
            }),
          }),
        }),
      });
    } finally {
      await app.stop();
    }
  });
});
