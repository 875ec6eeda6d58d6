import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { DpodClient } from '../../src/dpod';
import { backfill, importFiles, ingestWindow, startFollower } from '../../src/ingest';
import { badLinesOf, startSimulator, writeExportFile, type RunningSimulator } from '../../src/simulator';
import { CLI, runCli } from '../support/cli';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { jsonLines, record } from './hand-made';

const NOW = new Date(Date.UTC(2026, 10, 20, 12, 0, 0));
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const FROM = new Date(NOW.getTime() - 3 * DAY);

let t: TestDatabase;
let sim: RunningSimulator;
let dpod: DpodClient;
let dir: string;

beforeAll(async () => {
  [t, sim] = await Promise.all([
    createTestDatabase({ poolSize: 8 }),
    startSimulator({
      port: 0,
      seed: 23,
      services: 2,
      clientsPerService: 3,
      eventsPerDay: 1500,
      days: 3,
      now: () => NOW,
      exportDelayMs: 20,
      format: 'gzip-jsonl',
      badLineEvery: 40,
    }),
  ]);
  dpod = new DpodClient({
    apiUrl: sim.url,
    tokenUrl: sim.tokenUrl,
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    retryBaseMs: 5,
    retryMaxMs: 50,
  });
  dir = mkdtempSync(join(tmpdir(), 'rejects-once-'));
});
afterAll(async () => {
  await Promise.all([t.drop(), sim.stop()]);
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => t.truncate());

const deps = () => ({ db: t.db, pool: t.pool, dpod });
const fast = { pollIntervalMs: 20, progressBar: false, batchSize: 500 };

/** Every stored bad line with how often it was seen, in text order. */
async function stored(): Promise<{ raw: string; seen: number }[]> {
  const { rows } = await sql<{ raw: string; seen: number }>`
    select raw, seen_count as seen from rejected_records order by raw, occurrence`.execute(t.db);
  return rows;
}

function sorted(lines: string[]): string[] {
  return [...lines].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

describe('each bad line is stored once', () => {
  it('across overlapping windows, a re-ingest and an import of a file already read through the API', async () => {
    const all = badLinesOf(sim.tenant, FROM, NOW);
    const overlap = badLinesOf(sim.tenant, new Date(FROM.getTime() + DAY), new Date(FROM.getTime() + 2 * DAY));
    expect(all.length).toBeGreaterThan(50);
    expect(overlap.length).toBeGreaterThan(10);
    // Two windows sharing their middle day.
    const first = await ingestWindow(deps(), { from: FROM, to: new Date(FROM.getTime() + 2 * DAY) }, fast);
    const second = await ingestWindow(deps(), { from: new Date(FROM.getTime() + DAY), to: NOW }, fast);
    expect([first.rejected, second.rejected]).toEqual([
      badLinesOf(sim.tenant, FROM, new Date(FROM.getTime() + 2 * DAY)).length,
      badLinesOf(sim.tenant, new Date(FROM.getTime() + DAY), NOW).length,
    ]);
    const inOverlap = new Set(overlap);
    expect(await stored()).toEqual(sorted(all).map((raw) => ({ raw, seen: inOverlap.has(raw) ? 2 : 1 })));

    // The whole span again, then the same data as a file: each run counts what it read, the store adds nothing.
    const again = await backfill(deps(), { from: FROM, to: NOW }, { ...fast, windowDays: 3 });
    expect(again.map((s) => s.rejected)).toEqual([all.length]);
    const file = join(dir, 'export.jsonl.gz');
    await writeExportFile(sim.tenant, FROM, NOW, file, 'gzip-jsonl');
    const [imported] = await importFiles(deps(), [file], { progressBar: false });
    expect(imported).toMatchObject({ state: 'succeeded', rejected: all.length, inserted: 0 });
    expect(await stored()).toEqual(sorted(all).map((raw) => ({ raw, seen: inOverlap.has(raw) ? 4 : 3 })));
  });

  it('across follower passes that re-read their overlap', async () => {
    const options = {
      autoStart: false,
      initialLookbackSeconds: 2 * 86_400,
      overlapSeconds: 6 * 3600,
      pollIntervalMs: 20,
      batchSize: 500,
      now: () => NOW,
    };
    const follower = startFollower(deps(), options);
    const passes = [await follower.runOnce(), await follower.runOnce()];
    await follower.stop();
    const want = badLinesOf(sim.tenant, new Date(NOW.getTime() - 2 * DAY), NOW);
    const reRead = badLinesOf(sim.tenant, new Date(NOW.getTime() - 6 * HOUR), NOW);
    expect(reRead.length).toBeGreaterThan(0);
    expect(passes.map((p) => p?.reduce((n, s) => n + s.rejected, 0))).toEqual([want.length, reRead.length]);
    const twice = new Set(reRead);
    expect(await stored()).toEqual(sorted(want).map((raw) => ({ raw, seen: twice.has(raw) ? 2 : 1 })));
  });

  it('keeps identical bad lines of one input apart, and adds neither again on re-import', async () => {
    const good = JSON.stringify(record());
    const path = join(dir, 'identical.jsonl');
    writeFileSync(path, `garbage\n${good}\ngarbage\n{"time":\n${jsonLines([record({ action: 'LUNA_LOGIN' })])}`);
    for (let read = 1; read <= 2; read++) {
      const [summary] = await importFiles(deps(), [path], { progressBar: false });
      expect(summary).toMatchObject({ state: 'succeeded', read: 5, rejected: 3 });
    }
    const { rows } = await sql<{ raw: string; occurrence: number; seen: number; line: string }>`
      select raw, occurrence, seen_count as seen, line_number::text as line
        from rejected_records order by raw, occurrence`.execute(t.db);
    expect(rows).toEqual([
      { raw: 'garbage', occurrence: 0, seen: 2, line: '1' },
      { raw: 'garbage', occurrence: 1, seen: 2, line: '3' },
      { raw: '{"time":', occurrence: 0, seen: 2, line: '4' },
    ]);
  });

  it('after a process SIGKILLed mid-import and rerun', async () => {
    const file = join(dir, 'kill.jsonl.gz');
    await writeExportFile(sim.tenant, FROM, NOW, file, 'gzip-jsonl');
    const want = badLinesOf(sim.tenant, FROM, NOW);
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: t.url, LOG_LEVEL: 'warn' };
    const child = spawn(process.execPath, [CLI, 'import', file, '--batch-size', '200', '--no-progress'], {
      env,
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, signal) => resolve(signal)));
    const count = async () =>
      (await sql<{ n: number }>`select count(*)::int as n from rejected_records`.execute(t.db)).rows[0]?.n ?? 0;
    for (let i = 0; i < 3000 && (await count()) < 5; i++) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const partial = await count();
    expect(partial).toBeGreaterThanOrEqual(5);
    expect(partial).toBeLessThan(want.length);
    const rerun = await runCli(['import', file, '--no-progress'], env);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain(`rejected ${want.length}`);
    const rows = await stored();
    expect(rows.map((r) => r.raw)).toEqual(sorted(want));
    // Those the killed run had stored were seen twice; the rest once.
    expect(rows.filter((r) => r.seen === 2)).toHaveLength(partial);
  });
});
