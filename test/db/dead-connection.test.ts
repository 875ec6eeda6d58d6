import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { createDatabase, type DatabaseHandle } from '../../src/db/connection';
import { createLogger } from '../../src/logger';
import { createApp } from '../../src/server/app';
import { createReadiness } from '../../src/server/http/readiness';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { SilencingProxy } from '../support/silencing-proxy';

describe('a pooled connection that goes silent', () => {
  let target: TestDatabase;
  let proxy: SilencingProxy;
  let store: DatabaseHandle;

  beforeAll(async () => {
    target = await createTestDatabase({ poolSize: 1 });
  });
  afterAll(() => target?.drop());

  beforeEach(async () => {
    proxy = new SilencingProxy(new URL(target.url));
    const url = new URL(target.url);
    url.host = `127.0.0.1:${await proxy.listen()}`;
    store = createDatabase({ url: url.toString(), poolSize: 1, queryTimeoutMs: 400 });
  });
  afterEach(async () => {
    await proxy.close();
    await store.destroy().catch(() => undefined);
  });

  it('fails the statement after the query timeout and is replaced, so the next statement runs on a new connection', async () => {
    expect((await sql<{ n: number }>`select 1 as n`.execute(store.db)).rows).toEqual([{ n: 1 }]);
    proxy.silence();
    const started = Date.now();
    await expect(sql`select 2`.execute(store.db)).rejects.toThrow('Query read timeout');
    expect(Date.now() - started).toBeLessThan(3000);
    // The pool holds one connection: without replacing the silent one, this statement would queue behind the
    // unanswered one for good.
    expect((await sql<{ n: number }>`select 3 as n`.execute(store.db)).rows).toEqual([{ n: 3 }]);
    expect(proxy.connections).toBe(2);
  });

  it('fails the statements of a connection reset while checked out, without ending the process, and replaces it', async () => {
    // A client held for a while (as the follower holds its lease's) and reset while idle: its next statement fails.
    const held = await store.pool.connect();
    proxy.reset();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(held.query('select 1')).rejects.toThrow();
    held.release();
    // A statement running when its connection is reset fails with the reset.
    expect((await sql<{ n: number }>`select 1 as n`.execute(store.db)).rows).toEqual([{ n: 1 }]);
    const running = sql`select pg_sleep(1)`.execute(store.db);
    await new Promise((resolve) => setTimeout(resolve, 100));
    proxy.reset();
    await expect(running).rejects.toThrow('ECONNRESET');
    expect((await sql<{ n: number }>`select 3 as n`.execute(store.db)).rows).toEqual([{ n: 3 }]);
    expect(proxy.connections).toBe(3);
  });

  it('leaves /readyz not ready while silent, then ready again once the silent connection is dropped', async () => {
    const readiness = createReadiness({ db: store.db, databaseDeadlineMs: 150 });
    expect((await readiness()).ready).toBe(true);
    proxy.silence();
    const silent = await readiness();
    expect({ ready: silent.ready, database: silent.checks.database }).toEqual({
      ready: false,
      database: { ok: false, detail: 'database unreachable: no answer within 150 ms' },
    });
    // Past the query timeout the unanswered probe fails, its connection is dropped, and a new one answers. Polled:
    // on a loaded machine a new connection may take longer than the 150 ms deadline to answer its first probe.
    let after = await readiness();
    for (const deadline = Date.now() + 5000; !after.ready && Date.now() < deadline; after = await readiness()) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect({ ready: after.ready, database: after.checks.database }).toEqual({ ready: true, database: { ok: true } });
  });
});

describe('the server process pools', () => {
  let primary: TestDatabase;
  beforeAll(async () => {
    primary = await createTestDatabase({ poolSize: 1 });
  });
  afterAll(() => primary?.drop());

  it('give GraphQL statements a client-side limit 2 s past STATEMENT_TIMEOUT_MS, and leave ingest without one', async () => {
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      STATEMENT_TIMEOUT_MS: '1500',
      REQUEST_TIMEOUT_MS: '7000',
      DATABASE_READ_URL: primary.url,
    });
    const app = createApp(config, { logger: createLogger('silent'), databaseUrl: primary.url, migrate: false });
    try {
      await app.prepare();
      const options = (pool: unknown) => {
        const o = (pool as { options: Record<string, unknown> }).options;
        return { statement: o.statement_timeout, query: o.query_timeout, connect: o.connectionTimeoutMillis };
      };
      expect(options(app.database.pool)).toEqual({ statement: 1500, query: 3500, connect: 7000 });
      expect(options(app.ingestDatabase.pool)).toEqual({ statement: undefined, query: undefined, connect: undefined });
    } finally {
      await app.stop();
    }
  });
});
