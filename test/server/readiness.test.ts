import { sql } from 'kysely';
import { createDatabase, type DatabaseHandle } from '../../src/db/connection';
import { createReadiness } from '../../src/server/readiness';
import { migrations } from '../../migrations';
import { createEmptyDatabase, createTestDatabase, dropDatabase, urlFor, type TestDatabase } from '../support/db';

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
    expect(report).toEqual({ ready: true, checks: expect.objectContaining({ database: { ok: true }, migrations: { ok: true } }) });
  });

  it('is not ready on a database missing migrations this version knows, and lists them', async () => {
    const report = await createReadiness({ db: empty.db })();
    const pending = Object.keys(migrations);
    expect(report).toEqual({
      ready: false,
      checks: expect.objectContaining({ database: { ok: true }, migrations: { ok: false, detail: `pending migrations: ${pending.join(', ')}`, pending } }),
    });
  });

  it('is ready on a database a newer version migrated, and says so', async () => {
    await sql`insert into schema_migrations (name, timestamp) values ('29990101_0001_newer', ${new Date().toISOString()})`.execute(current.db);
    const report = await createReadiness({ db: current.db })();
    expect(report).toEqual({
      ready: true,
      checks: expect.objectContaining({
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
