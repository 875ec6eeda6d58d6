import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createTenant, summarizeRecords, writeExportFile } from '../../src/simulator';
import { CLI, runCli } from '../support/cli';
import { useIngestStore } from './store-fixture';
import { rollupsAndGroupBy, storedSummary } from './store-assertions';

const NOW = new Date(Date.UTC(2026, 10, 20));
const FROM = new Date(NOW.getTime() - 2 * 86_400_000);

const store = useIngestStore('ingest-kill-');

async function stored(): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from audit_events`.execute(store.t.db);
  return rows[0]!.n;
}

it('a process SIGKILLed mid-import, rerun, ends with exactly the expected rows', async () => {
  const tenant = createTenant({
    seed: 5,
    services: 3,
    clientsPerService: 3,
    eventsPerDay: 4000,
    days: 2,
    now: () => NOW,
  });
  const file = join(store.dir, 'export.jsonl.gz');
  await writeExportFile(tenant, FROM, NOW, file, 'gzip-jsonl');
  const want = summarizeRecords(tenant, FROM, NOW);
  expect(want.total).toBeGreaterThan(20_000);

  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: store.t.url, LOG_LEVEL: 'warn' };
  const child = spawn(process.execPath, [CLI, 'import', file, '--batch-size', '500', '--no-progress'], {
    env,
    stdio: 'ignore',
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  // Wait until some batches are committed, then kill the process without warning.
  for (let i = 0; i < 3000 && (await stored()) < 2000; i++) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  const partial = await stored();
  expect(partial).toBeGreaterThanOrEqual(2000);
  expect(partial).toBeLessThan(want.total);
  // Whole batches only: the rollups match the events even after the kill.
  const mid = await rollupsAndGroupBy(store.t);
  expect(mid.rollups).toEqual(mid.groupBy);

  const rerun = await runCli(['import', file, '--no-progress'], env);
  expect(rerun.stderr).toBe('');
  expect(rerun.code).toBe(0);
  expect(rerun.stdout).toContain(
    `read ${want.total}, inserted ${want.total - partial}, duplicates ${partial}, rejected 0`,
  );
  expect(await storedSummary(store.t)).toEqual({
    total: want.total,
    byService: want.byService,
    byClient: want.byClient,
    byAction: want.byAction,
    byStatus: want.byStatus,
    repeats: want.identicalSameSecondExtras,
    malformedMeta: want.malformedMeta,
  });
  const after = await rollupsAndGroupBy(store.t);
  expect(after.rollups).toEqual(after.groupBy);
  const runs = await store.t.db.selectFrom('ingest_runs').select(['state', 'inserted']).orderBy('id').execute();
  expect(runs).toEqual([
    { state: 'running', inserted: String(partial) },
    { state: 'succeeded', inserted: String(want.total - partial) },
  ]);
});
