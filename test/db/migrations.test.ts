import { sql } from 'kysely';
import { createDatabase, type DatabaseHandle } from '../../src/db/connection';
import { migrateAllDown, migrateToLatest, migrationStatus, pendingMigrations } from '../../src/db/migrate';
import { migrations } from '../../migrations';
import { runCli } from '../support/cli';
import { createEmptyDatabase, dropDatabase, urlFor } from '../support/db';

async function tables(handle: DatabaseHandle): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relname not like 'schema_migrations%'
       and not c.relispartition
     order by 1`.execute(handle.db);
  return rows.map((r) => r.name);
}

/** A new empty database for the enclosing describe block, dropped after it; `handle` is set in beforeAll. */
function useEmptyDatabase(): { handle: DatabaseHandle } {
  const state = { name: '', handle: undefined as unknown as DatabaseHandle };
  beforeAll(async () => {
    state.name = await createEmptyDatabase();
    state.handle = createDatabase({ url: urlFor(state.name), poolSize: 2 });
  });
  afterAll(async () => {
    await state.handle?.destroy();
    if (state.name) await dropDatabase(state.name);
  });
  return state;
}

describe('migrations', () => {
  const fresh = useEmptyDatabase();

  it('run up, down and up again on a real database', async () => {
    const first = await migrateToLatest(fresh.handle.db);
    expect(first.applied).toEqual(Object.keys(migrations));
    expect(await tables(fresh.handle)).toEqual([
      'audit_address_rollups_daily',
      'audit_events',
      'audit_rollups_daily',
      'audit_rollups_daily_client',
      'audit_rollups_daily_tenant',
      'audit_rollups_hourly',
      'findings',
      'ingest_checkpoints',
      'ingest_runs',
      'integrity_retention',
      'integrity_seals',
      'rejected_records',
      'webhook_deliveries',
    ]);
    expect(await pendingMigrations(fresh.handle.db)).toEqual([]);

    const reverted = await migrateAllDown(fresh.handle.db);
    expect(reverted).toEqual(Object.keys(migrations).reverse());
    expect(await tables(fresh.handle)).toEqual([]);
    expect(await pendingMigrations(fresh.handle.db)).toEqual(Object.keys(migrations));

    const again = await migrateToLatest(fresh.handle.db);
    expect(again.applied).toEqual(Object.keys(migrations));
    expect(await tables(fresh.handle)).toHaveLength(13);
  });

  it('does nothing the second time', async () => {
    const outcome = await migrateToLatest(fresh.handle.db);
    expect(outcome).toEqual({ applied: [], alreadyCurrent: true, unknown: [] });
  });
});

describe('a database with migrations this version does not know', () => {
  const fresh = useEmptyDatabase();
  const known = Object.keys(migrations);
  const applied = async () =>
    (await sql<{ name: string }>`select name from schema_migrations order by name`.execute(fresh.handle.db)).rows.map(
      (r) => r.name,
    );
  const record = (migration: string) =>
    sql`insert into schema_migrations (name, timestamp) values (${migration}, ${new Date().toISOString()})`.execute(
      fresh.handle.db,
    );

  it('is ahead when it has every known migration and newer ones: skipped on request, refused by default', async () => {
    await migrateToLatest(fresh.handle.db);
    await record('29990101_0001_newer');
    await record('29990102_0001_newest');
    expect(await migrationStatus(fresh.handle.db)).toEqual({
      pending: [],
      unknown: ['29990101_0001_newer', '29990102_0001_newest'],
      ahead: true,
    });
    expect(await migrateToLatest(fresh.handle.db, { whenAhead: 'skip' })).toEqual({
      applied: [],
      alreadyCurrent: true,
      unknown: ['29990101_0001_newer', '29990102_0001_newest'],
    });
    await expect(migrateToLatest(fresh.handle.db)).rejects.toThrow(
      'the database is ahead of this version of dpod-audit: it has 2 migration(s) this version does not know (29990101_0001_newer, 29990102_0001_newest), applied by a newer version; nothing was migrated.',
    );
    expect(await applied()).toEqual([...known, '29990101_0001_newer', '29990102_0001_newest']);
  });

  it('is not ahead, and is never migrated, when it also lacks a known migration', async () => {
    const last = known[known.length - 1]!;
    await sql`delete from schema_migrations where name = ${last}`.execute(fresh.handle.db);
    expect(await migrationStatus(fresh.handle.db)).toEqual({
      pending: [last],
      unknown: ['29990101_0001_newer', '29990102_0001_newest'],
      ahead: false,
    });
    await expect(migrateToLatest(fresh.handle.db, { whenAhead: 'skip' })).rejects.toThrow(
      `the database's migrations do not match this version of dpod-audit: it has 29990101_0001_newer, 29990102_0001_newest, which this version does not know and lacks ${last}, which it does know; nothing was migrated.`,
    );
    expect(await applied()).toEqual([...known.slice(0, -1), '29990101_0001_newer', '29990102_0001_newest']);
  });

  it('is not ahead when an unknown migration sorts before a known one', async () => {
    await record(known[known.length - 1]!);
    await sql`delete from schema_migrations where name like '2999%'`.execute(fresh.handle.db);
    await record('20000101_0001_from_another_build');
    expect(await migrationStatus(fresh.handle.db)).toEqual({
      pending: [],
      unknown: ['20000101_0001_from_another_build'],
      ahead: false,
    });
    await expect(migrateToLatest(fresh.handle.db, { whenAhead: 'skip' })).rejects.toThrow(
      /do not match this version of dpod-audit: it has 20000101_0001_from_another_build, which this version does not know; nothing was migrated/,
    );
  });
});

describe('dpod-audit migrate', () => {
  let name: string;
  beforeAll(async () => {
    name = await createEmptyDatabase();
  });
  afterAll(async () => dropDatabase(name));

  it('is safe from two processes at once, then reports there is nothing to do', async () => {
    const env = { DATABASE_URL: urlFor(name) };
    const [a, b] = await Promise.all([runCli(['migrate'], env), runCli(['migrate'], env)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const outputs = [a.stdout, b.stdout].sort();
    // Exactly one process applied the migrations; the other found them applied.
    expect(outputs.filter((o) => o.includes('Applied'))).toHaveLength(1);
    expect(outputs.filter((o) => o.includes('already up to date'))).toHaveLength(1);

    const third = await runCli(['migrate'], env);
    expect(third.code).toBe(0);
    expect(third.stdout).toBe('Database schema is already up to date; nothing to do.\n');
  });

  it('exits 2 with a named message on bad configuration', async () => {
    const result = await runCli(['migrate'], { DATABASE_URL: 'mysql://nope' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('DATABASE_URL');
    expect(result.stderr).toContain('must start with postgres://');
  });

  it('exits 1 naming the variable, the server and what to check when the database is unreachable', async () => {
    const result = await runCli(['migrate'], { DATABASE_URL: 'postgres://postgres:hidden-password@127.0.0.1:1/none' });
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 1,
      stderr:
        'error: cannot reach PostgreSQL at 127.0.0.1:1 (DATABASE_URL): connection refused — is the server running and the URL right?\n',
    });
  });

  it('exits 2 on an unknown command', async () => {
    const result = await runCli(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'frobnicate'");
  });
});
