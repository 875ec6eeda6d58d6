import { sql } from 'kysely';
import { failAbandonedRuns, startRun } from '../../src/ingest/ingest-run';
import { recordedRun } from '../../src/ingest/recorded-run';
import { createTestDatabase, type TestDatabase } from '../support/db';

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});
beforeEach(async () => {
  await t.truncate();
});

/** Moves a run's start and heartbeat into the past, as the database sees it. */
async function age(runId: string, ages: { startedSecondsAgo: number; heartbeatSecondsAgo: number }): Promise<void> {
  await sql`
    update ingest_runs
       set started_at = now() - make_interval(secs => ${ages.startedSecondsAgo}),
           heartbeat_at = now() - make_interval(secs => ${ages.heartbeatSecondsAgo})
     where id = ${runId}`.execute(t.db);
}

async function runRow(runId: string) {
  return t.db.selectFrom('ingest_runs').select(['state', 'error']).where('id', '=', runId).executeTakeFirstOrThrow();
}

describe('abandoned ingest runs', () => {
  it('fails a running run by the age of its heartbeat only, not by how long ago it started', async () => {
    const longAlive = await startRun(t.db, { kind: 'import', source: 'file:/long-but-alive' });
    await age(longAlive, { startedSecondsAgo: 6 * 3600, heartbeatSecondsAgo: 10 });
    const silent = await startRun(t.db, { kind: 'import', source: 'file:/silent' });
    await age(silent, { startedSecondsAgo: 20 * 60, heartbeatSecondsAgo: 10 * 60 });

    expect(await failAbandonedRuns(t.db)).toBe(1);
    expect(await runRow(longAlive)).toEqual({ state: 'running', error: null });
    expect(await runRow(silent)).toEqual({
      state: 'failed',
      error: 'abandoned: the ingesting process stopped without finishing',
    });
    // A shorter staleness takes the quiet-for-10-seconds run too.
    expect(await failAbandonedRuns(t.db, 5)).toBe(1);
    expect((await runRow(longAlive)).state).toBe('failed');
  });

  it('keeps a recorded run alive while its body waits, and lets it finish as succeeded', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: (runId: string) => void;
    const runIdOf = new Promise<string>((resolve) => (started = resolve));
    // The body stores nothing and just waits, like a run waiting for its export to be ready.
    const finished = recordedRun(
      { db: t.db, pool: t.pool },
      { kind: 'import', source: 'file:/waiting' },
      { progressBar: false, heartbeatSeconds: 0.02 },
      async ({ runId }) => {
        started(runId);
        await gate;
      },
    );
    const runId = await runIdOf;
    // As if it had been waiting for an hour with its last heartbeat ten minutes ago: the timer must renew it.
    await age(runId, { startedSecondsAgo: 3600, heartbeatSecondsAgo: 600 });
    let fresh = false;
    for (let i = 0; i < 500 && !fresh; i++) {
      const { rows } = await sql<{
        fresh: boolean;
      }>`select heartbeat_at > now() - interval '1 minute' as fresh from ingest_runs where id = ${runId}`.execute(t.db);
      fresh = rows[0]!.fresh;
      if (!fresh) await new Promise((r) => setTimeout(r, 10));
    }
    expect(fresh).toBe(true);

    expect(await failAbandonedRuns(t.db)).toBe(0);
    expect(await runRow(runId)).toEqual({ state: 'running', error: null });
    release();
    const summary = await finished;
    expect(summary).toMatchObject({ runId, state: 'succeeded', error: null });
    expect(await runRow(runId)).toEqual({ state: 'succeeded', error: null });
  });

  it('leaves finished runs alone, however old their heartbeat', async () => {
    const done = await recordedRun(
      { db: t.db, pool: t.pool },
      { kind: 'import', source: 'file:/done' },
      { progressBar: false },
      () => Promise.resolve(undefined),
    );
    const broken = await recordedRun(
      { db: t.db, pool: t.pool },
      { kind: 'import', source: 'file:/broken' },
      { progressBar: false },
      () => Promise.reject(new Error('unreadable file')),
    );
    await age(done.runId, { startedSecondsAgo: 7200, heartbeatSecondsAgo: 7200 });
    await age(broken.runId, { startedSecondsAgo: 7200, heartbeatSecondsAgo: 7200 });
    expect(await failAbandonedRuns(t.db)).toBe(0);
    expect(await runRow(done.runId)).toEqual({ state: 'succeeded', error: null });
    expect(await runRow(broken.runId)).toEqual({ state: 'failed', error: 'unreadable file' });
  });
});
