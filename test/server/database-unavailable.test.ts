import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { createApp, type App } from '../../src/server/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { SilencingProxy } from '../support/silencing-proxy';
import { gql } from './support/http';

const QUERY = '{ auditEvents(first: 1) { totalCount } }';

const unavailable = {
  message: 'The database did not answer or could not be reached; audit data is unavailable for now. Try again shortly.',
  path: ['auditEvents', 'totalCount'],
  extensions: { code: 'DATABASE_UNAVAILABLE' },
};

describe('GraphQL when PostgreSQL fails under a running server', () => {
  let target: TestDatabase;
  let proxy: SilencingProxy;
  let app: App;
  let url: string;

  beforeAll(async () => {
    target = await createTestDatabase({ poolSize: 1 });
  });
  afterAll(() => target?.drop());

  beforeEach(async () => {
    proxy = new SilencingProxy(new URL(target.url));
    await proxy.listen();
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      PORT: '0',
      HOST: '127.0.0.1',
      DB_POOL_SIZE: '1',
      STATEMENT_TIMEOUT_MS: '100',
    });
    app = createApp(config, { logger: createLogger('silent'), databaseUrl: proxy.url(target.url) });
    url = await app.start();
    expect((await gql(url, QUERY)).body).toEqual({ data: { auditEvents: { totalCount: 0 } } });
  });
  afterEach(async () => {
    await app.stop();
    await proxy.close();
  });

  it('answers DATABASE_UNAVAILABLE when the connection is cut and the host refuses new ones', async () => {
    proxy.reset();
    proxy.refuseNew();
    const res = await gql(url, QUERY);
    expect({ status: res.status, body: res.body }).toEqual({
      status: 200,
      body: { data: null, errors: [unavailable] },
    });
  });

  it('answers DATABASE_UNAVAILABLE when the connection goes silent, once the query timeout has passed', async () => {
    proxy.silence();
    const started = Date.now();
    const res = await gql(url, QUERY);
    expect({ status: res.status, body: res.body }).toEqual({
      status: 200,
      body: { data: null, errors: [unavailable] },
    });
    // STATEMENT_TIMEOUT_MS (100) + 2 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    // The silent connection has left the pool: the next request is answered from a new one.
    expect((await gql(url, QUERY)).body).toEqual({ data: { auditEvents: { totalCount: 0 } } });
  });
});
