import { createServer, type Server, type Socket } from 'node:net';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { createDatabase, type DatabaseHandle } from '../../src/db/connection';
import { freePort } from '../../src/db/embedded';
import { createLogger } from '../../src/logger';
import { createApp } from '../../src/server/app';
import { createReadiness } from '../../src/server/http/readiness';
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

  it('is not ready when the replica refuses connections, while the primary is fine', async () => {
    const replica = createDatabase({ url: `postgres://postgres@127.0.0.1:${await freePort()}/none`, poolSize: 2 });
    try {
      const report = await createReadiness({ db: primary.db, readDb: replica.db })();
      expect(report).toEqual({
        ready: false,
        checks: containing({
          database: { ok: true },
          migrations: { ok: true },
          replica: {
            ok: false,
            detail: matching(/^read replica \(DATABASE_READ_URL\) unreachable: .*ECONNREFUSED/),
          },
        }),
      });
    } finally {
      await replica.destroy();
    }
  });

  it('fails a replica that does not answer within the deadline, reusing one attempt across probes', async () => {
    // A server that accepts TCP connections and never answers (a hung host, or a firewall that swallows packets).
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const replica = createDatabase({ url: `postgres://postgres@127.0.0.1:${port}/none`, poolSize: 5 });
    try {
      const readiness = createReadiness({ db: primary.db, readDb: replica.db, databaseDeadlineMs: 300 });
      for (let probe = 0; probe < 3; probe++) {
        const started = Date.now();
        const report = await readiness();
        expect({ ready: report.ready, replica: report.checks.replica, database: report.checks.database }).toEqual({
          ready: false,
          replica: { ok: false, detail: 'read replica (DATABASE_READ_URL) unreachable: no answer within 300 ms' },
          database: { ok: true },
        });
        expect(Date.now() - started).toBeLessThan(1500);
      }
      expect(sockets).toHaveLength(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
      await replica.destroy();
    }
  });

  it('makes a running server unready when its replica goes away', async () => {
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
        replica: { ok: true },
      });
      await replica.drop();
      const after = await fetch(`${url}/readyz`);
      const body: unknown = await after.json();
      expect({ status: after.status, body }).toEqual({
        status: 503,
        body: containing({
          checks: containing({
            database: { ok: true },
            replica: {
              ok: false,
              detail: `read replica (DATABASE_READ_URL) unreachable: database "${replica.name}" does not exist`,
            },
          }),
        }),
      });
    } finally {
      await app.stop();
    }
  });
});
