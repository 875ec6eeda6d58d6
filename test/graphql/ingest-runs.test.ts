import { sql } from 'kysely';
import { startGraphqlFixture, type GraphqlFixture } from './support/graphql-fixture';

let f: GraphqlFixture;
beforeAll(async () => {
  f = await startGraphqlFixture({ ingest: false });
});
afterAll(() => f?.stop());

describe('Query.ingestRuns', () => {
  it('reports the duration of a run that lasted longer than a 32-bit Int of milliseconds (30 days)', async () => {
    const startedAt = new Date('2026-10-01T00:00:00.000Z');
    const finishedAt = new Date(startedAt.getTime() + 30 * 86_400_000);
    const running = new Date('2026-11-20T11:00:00.000Z');
    await sql`
      insert into ingest_runs (kind, source, state, started_at, heartbeat_at, finished_at, error) values
        ('follow', 'follow', 'failed', ${startedAt.toISOString()}::timestamptz, ${startedAt.toISOString()}::timestamptz, ${finishedAt.toISOString()}::timestamptz, 'abandoned'),
        ('backfill', 'export', 'running', ${running.toISOString()}::timestamptz, ${running.toISOString()}::timestamptz, null, null)`.execute(
      f.t.db,
    );
    const body = await f.gql(`{ ingestRuns { nodes { kind state startedAt finishedAt durationMs } } }`);
    expect(body).toEqual({
      data: {
        ingestRuns: {
          nodes: [
            {
              kind: 'backfill',
              state: 'running',
              startedAt: running.toISOString(),
              finishedAt: null,
              durationMs: null,
            },
            {
              kind: 'follow',
              state: 'failed',
              startedAt: startedAt.toISOString(),
              finishedAt: finishedAt.toISOString(),
              durationMs: 2_592_000_000,
            },
          ],
        },
      },
    });
  });

  it('reports how many of the duplicates of a run were recognised by their text', async () => {
    await sql`
      insert into ingest_runs (kind, source, state, records_read, duplicates, recognized)
      values ('import', 'file:x', 'succeeded', 10, 9, 7)`.execute(f.t.db);
    const data = await f.gqlData<{ ingestRuns: { nodes: unknown[] } }>(
      `{ ingestRuns { nodes { source recordsRead duplicates recognized } } }`,
    );
    expect(data.ingestRuns.nodes).toContainEqual({
      source: 'file:x',
      recordsRead: 10,
      duplicates: 9,
      recognized: 7,
    });
  });
});
