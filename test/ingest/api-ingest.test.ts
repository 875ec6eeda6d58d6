import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DpodClient } from '../../src/dpod';
import { DEFAULT_DETECTION_SETTINGS, detectRange } from '../../src/detect';
import { backfill, importFiles, ingestWindow, startFollower, type AuditExportApi } from '../../src/ingest';
import {
  SIM_ROUTES,
  startSimulator,
  summarizeRecords,
  writeExportFile,
  type RunningSimulator,
} from '../../src/simulator';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { rollupsAndGroupBy, storedSummary } from './store-assertions';

const NOW = new Date(Date.UTC(2026, 10, 20, 12, 0, 0));
const DAY = 86_400_000;
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
      seed: 11,
      services: 2,
      clientsPerService: 3,
      eventsPerDay: 1500,
      days: 3,
      now: () => NOW,
      exportDelayMs: 30,
      format: 'gzip-jsonl',
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
  dir = mkdtempSync(join(tmpdir(), 'ingest-api-'));
});
afterAll(async () => {
  await Promise.all([t.drop(), sim.stop()]);
  rmSync(dir, { recursive: true, force: true });
});
function clearFaults(): void {
  for (const route of ['*', ...Object.values(SIM_ROUTES)]) sim.setFault(route, null);
}

beforeEach(async () => {
  await t.truncate();
  clearFaults();
});

const deps = () => ({ db: t.db, pool: t.pool, dpod });
// Two failures in a row: the simulator's routine mistypes (one to three, then a login) raise findings with it.
const pinRule = { ...DEFAULT_DETECTION_SETTINGS, rules: ['PIN_FAILURE_BURST' as const], pinFailures: 2 };
const fast = { pollIntervalMs: 20, progressBar: false, batchSize: 1000 };

/** The simulator's client with export requests held until `release()`: catches a follower inside its pass. */
function holdExports(): { api: AuditExportApi; reached: Promise<void>; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let arrived!: () => void;
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  const api: AuditExportApi = {
    createExport: async (window) => {
      arrived();
      await gate;
      return dpod.createExport(window);
    },
    waitForExport: (jobId, options) => dpod.waitForExport(jobId, options),
    downloadExport: (location) => dpod.downloadExport(location),
  };
  return { api, reached, release };
}

function expected(from = FROM, to = NOW) {
  const s = summarizeRecords(sim.tenant, from, to);
  return {
    total: s.total,
    byService: s.byService,
    byClient: s.byClient,
    byAction: s.byAction,
    byStatus: s.byStatus,
    repeats: s.identicalSameSecondExtras,
    malformedMeta: s.malformedMeta,
  };
}

describe('ingest through the Audit Query API (simulator)', () => {
  it('stores exactly what the simulator generated, per service, client, action and status', async () => {
    const summaries = await backfill(deps(), { from: FROM, to: NOW }, { ...fast, windowDays: 1 });
    const want = expected();
    expect(want.repeats).toBeGreaterThan(0);
    expect(want.malformedMeta).toBeGreaterThan(0);
    expect(summaries.map((s) => [s.state, s.windowFrom?.toISOString(), s.windowTo?.toISOString()])).toEqual([
      ['succeeded', '2026-11-17T12:00:00.000Z', '2026-11-18T12:00:00.000Z'],
      ['succeeded', '2026-11-18T12:00:00.000Z', '2026-11-19T12:00:00.000Z'],
      ['succeeded', '2026-11-19T12:00:00.000Z', '2026-11-20T12:00:00.000Z'],
    ]);
    expect(summaries.reduce((n, s) => n + s.inserted, 0)).toBe(want.total);
    expect(await storedSummary(t)).toEqual(want);
    const { rollups, groupBy } = await rollupsAndGroupBy(t);
    expect(rollups).toEqual(groupBy);
    const cp = await t.db.selectFrom('ingest_checkpoints').selectAll().executeTakeFirstOrThrow();
    expect(cp.position?.toISOString()).toBe(NOW.toISOString());
  });

  it('adds nothing on re-ingest, on overlapping windows, or on import of a file of the same data', async () => {
    await backfill(deps(), { from: FROM, to: NOW }, { ...fast, windowDays: 2 });
    const overlap = await ingestWindow(
      deps(),
      { from: new Date(FROM.getTime() + 6 * 3_600_000), to: new Date(NOW.getTime() - 5 * 3_600_000) },
      fast,
    );
    expect(overlap).toMatchObject({ state: 'succeeded', inserted: 0, rejected: 0 });
    expect(overlap.duplicates).toBeGreaterThan(1000);
    const again = await backfill(deps(), { from: FROM, to: NOW }, { ...fast, windowDays: 3, checkpointName: 'again' });
    expect(again.map((s) => [s.state, s.inserted])).toEqual([['succeeded', 0]]);
    const file = join(dir, 'same.zip');
    await writeExportFile(sim.tenant, new Date(FROM.getTime() + DAY), NOW, file, 'zip-json');
    const [imported] = await importFiles(deps(), [file], fast);
    expect(imported).toMatchObject({ state: 'succeeded', inserted: 0, rejected: 0 });
    expect(await storedSummary(t)).toEqual(expected());
  });

  it('resumes a backfill from its checkpoint after a window fails (download cut mid-way)', async () => {
    sim.setFault('GET /exports/{jobId}/{file}', { truncateAfterBytes: 20_000, times: 1 });
    const first = await backfill(deps(), { from: FROM, to: NOW }, { ...fast, windowDays: 1, concurrency: 1 });
    expect(first.map((s) => s.state)).toEqual(['failed']);
    expect(first[0]!.error).toBeTruthy();
    clearFaults();
    const second = await backfill(deps(), { from: FROM, to: NOW }, { ...fast, windowDays: 1 });
    expect(second.map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(await storedSummary(t)).toEqual(expected());
  });

  it('splits a window whose export fails upstream and still stores everything', async () => {
    sim.setFault('POST /v1/audit-log-exports', { exportFailureRate: 1 });
    const pending = backfill(deps(), { from: FROM, to: NOW }, { ...fast, windowDays: 3, concurrency: 1 });
    // Let the first export fail, then heal the service: the halves go through.
    await new Promise((r) => setTimeout(r, 150));
    clearFaults();
    const summaries = await pending;
    expect(summaries.map((s) => s.error)).toEqual(summaries.map(() => null));
    expect(summaries.length).toBeGreaterThan(1);
    expect(await storedSummary(t)).toEqual(expected());
  });

  it('lets one follower at a time work a checkpoint; the lease is free again after its pass', async () => {
    const now = () => NOW;
    const options = {
      autoStart: false,
      initialLookbackSeconds: 3 * 86_400,
      overlapSeconds: 3600,
      pollIntervalMs: 20,
      batchSize: 500,
      now,
    };
    const held = holdExports();
    const a = startFollower({ ...deps(), dpod: held.api }, options);
    const b = startFollower(deps(), options);
    const passA = a.runOnce();
    // a holds the lease and waits for its export: b skips its pass.
    await held.reached;
    expect(await b.runOnce()).toBeNull();
    held.release();
    const want = expected();
    expect((await passA)!.map((s) => [s.state, s.inserted, s.duplicates, s.error])).toEqual([
      ['succeeded', want.total, 0, null],
    ]);
    // The pass released the lease: b now works, from a's checkpoint minus the overlap, and finds it all stored.
    const inOverlap = summarizeRecords(sim.tenant, new Date(NOW.getTime() - 3_600_000), NOW).total;
    expect(inOverlap).toBeGreaterThan(0);
    expect((await b.runOnce())!.map((s) => [s.state, s.windowFrom?.toISOString(), s.inserted, s.duplicates])).toEqual([
      ['succeeded', '2026-11-20T11:00:00.000Z', 0, inOverlap],
    ]);
    await Promise.all([a.stop(), b.stop()]);
    const runs = await t.db.selectFrom('ingest_runs').select(['kind', 'state', 'inserted']).orderBy('id').execute();
    expect(runs).toEqual([
      { kind: 'follow', state: 'succeeded', inserted: String(want.total) },
      { kind: 'follow', state: 'succeeded', inserted: '0' },
    ]);
    expect(await storedSummary(t)).toEqual(want);
  });

  it('stores each event once when followers of two checkpoints ingest the same window at the same time', async () => {
    const options = {
      autoStart: false,
      initialLookbackSeconds: 3 * 86_400,
      pollIntervalMs: 20,
      batchSize: 500,
      now: () => NOW,
    };
    const c = startFollower(deps(), { ...options, checkpointName: 'c' });
    const d = startFollower(deps(), { ...options, checkpointName: 'd' });
    const [rc, rd] = await Promise.all([c.runOnce(), d.runOnce()]);
    await Promise.all([c.stop(), d.stop()]);
    const want = expected();
    // Both read the whole window; which of them stored an event depends on timing, but each was stored once.
    const both = [...rc!, ...rd!];
    expect(both.map((s) => [s.state, s.read, s.rejected, s.error])).toEqual([
      ['succeeded', want.total, 0, null],
      ['succeeded', want.total, 0, null],
    ]);
    expect(both.reduce((n, s) => n + s.inserted, 0)).toBe(want.total);
    expect(both.reduce((n, s) => n + s.duplicates, 0)).toBe(want.total);
    expect(await storedSummary(t)).toEqual(want);
    const { rollups, groupBy } = await rollupsAndGroupBy(t);
    expect(rollups).toEqual(groupBy);
  });

  it('follows from the checkpoint minus the overlap on the next pass', async () => {
    let clock = new Date(NOW.getTime() - DAY);
    const f = startFollower(deps(), {
      autoStart: false,
      initialLookbackSeconds: 2 * 86_400,
      overlapSeconds: 600,
      pollIntervalMs: 20,
      now: () => clock,
      detect: pinRule,
    });
    const first = await f.runOnce();
    expect(first!.map((s) => [s.windowFrom?.toISOString(), s.windowTo?.toISOString()])).toEqual([
      ['2026-11-17T12:00:00.000Z', '2026-11-19T12:00:00.000Z'],
    ]);
    clock = NOW;
    const second = await f.runOnce();
    expect(second!.map((s) => [s.windowFrom?.toISOString(), s.windowTo?.toISOString(), s.state])).toEqual([
      ['2026-11-19T11:50:00.000Z', '2026-11-20T12:00:00.000Z', 'succeeded'],
    ]);
    expect(second![0]!.duplicates).toBeGreaterThan(0);
    await f.stop();
    expect(await storedSummary(t)).toEqual(expected());
    // Each pass ran the detection rules over its window: a backfill of the whole range finds nothing they missed,
    // and nothing to raise twice.
    const { rows } = await t.pool.query<{ n: number }>('select count(*)::int as n from findings');
    expect(rows[0]!.n).toBeGreaterThan(0);
    expect(await detectRange(t.pool, { from: new Date(NOW.getTime() - 3 * DAY), to: NOW }, pinRule)).toMatchObject({
      raised: 0,
      extended: 0,
    });
  });
});

describe('follower lifecycle', () => {
  it('stops after the current batch, leaves consistent data, and the next follower finishes the job', async () => {
    const now = () => NOW;
    // The stop, once asked for (in a list: TypeScript cannot see the callback assign it).
    const stopping: Promise<void>[] = [];
    // Stop as soon as the first batch is committed, while the pass is in the middle of its window.
    const f = startFollower(
      {
        ...deps(),
        onProgress: (p) => {
          if (p.inserted > 0 && stopping.length === 0) stopping.push(f.stop());
        },
      },
      { initialLookbackSeconds: 3 * 86_400, pollIntervalMs: 20, batchSize: 200, now },
    );
    for (let i = 0; i < 3000 && stopping.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(stopping).toHaveLength(1);
    await stopping[0];
    const want = expected();
    const { n: partial } = await t.db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(partial)).toBeGreaterThan(0);
    expect(Number(partial)).toBeLessThan(want.total);
    // One run, finished as interrupted, whose counters are exactly what its committed batches stored.
    const interrupted = await t.db
      .selectFrom('ingest_runs')
      .select(['kind', 'state', 'error', 'inserted', 'duplicates'])
      .execute();
    expect(interrupted).toEqual([
      {
        kind: 'follow',
        state: 'failed',
        error: 'interrupted before the end of the window (shutdown); the next run reads it again',
        inserted: String(partial),
        duplicates: '0',
      },
    ]);
    // Whole batches only, and the window is not marked done: the checkpoint has no position to resume after.
    const mid = await rollupsAndGroupBy(t);
    expect(mid.rollups).toEqual(mid.groupBy);
    const cp = await t.db.selectFrom('ingest_checkpoints').select(['name', 'position']).execute();
    expect(cp).toEqual([{ name: 'follow', position: null }]);

    const g = startFollower(deps(), { autoStart: false, initialLookbackSeconds: 3 * 86_400, pollIntervalMs: 20, now });
    const runs = await g.runOnce();
    await g.stop();
    expect(runs!.map((s) => [s.state, s.read, s.inserted, s.duplicates, s.error])).toEqual([
      ['succeeded', want.total, want.total - Number(partial), Number(partial), null],
    ]);
    expect(await storedSummary(t)).toEqual(want);
  });
});
