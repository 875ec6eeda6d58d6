import { Writable } from 'node:stream';
import pino from 'pino';
import {
  DEFAULT_DETECTION_SETTINGS,
  detectFindings,
  dpodClientDirectory,
  type ClientDirectorySource,
} from '../../src/detect';
import { DpodClient } from '../../src/dpod';
import { backfill } from '../../src/ingest';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { createTestDatabase, type TestDatabase } from '../support/db';

// UNBOUND_CLIENT_ACTIVITY against the simulator's platform API over HTTP: the client its incidents unbind keeps
// acting, and a pass that read the bindings before it began raises it once and extends it while it goes on; a pass
// whose DPoD read fails or is inconsistent skips the rule with a warning and still runs the others.

const START = Date.parse('2026-11-20T12:00:00.000Z');
const HOUR = 3_600_000;
const rules = { ...DEFAULT_DETECTION_SETTINGS, rules: ['UNBOUND_CLIENT_ACTIVITY' as const] };

let t: TestDatabase;
let sim: RunningSimulator;
let dpod: DpodClient;
let now = START;
const warnings: string[] = [];
const logger = pino(
  { level: 'warn' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      warnings.push((JSON.parse(chunk.toString()) as { msg: string }).msg);
      done();
    },
  }),
);

beforeAll(async () => {
  [t, sim] = await Promise.all([
    createTestDatabase({ poolSize: 4 }),
    startSimulator({
      port: 0,
      seed: 5,
      services: 3,
      clientsPerService: 4,
      eventsPerDay: 1000,
      days: 3,
      incidents: true,
      now: () => new Date(now),
      exportDelayMs: 0,
    }),
  ]);
  dpod = new DpodClient({
    apiUrl: sim.url,
    tokenUrl: sim.tokenUrl,
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    maxRetries: 0,
  });
  await ingest(sim.tenant.historyStartMs(), now);
}, 60_000);
afterAll(async () => {
  await Promise.all([sim?.stop(), t?.drop()]);
});
beforeEach(() => {
  warnings.length = 0;
  sim.setFault('*', null);
});

async function ingest(from: number, to: number): Promise<void> {
  const runs = await backfill(
    { db: t.db, pool: t.pool, dpod },
    { from: new Date(from), to: new Date(to) },
    { pollIntervalMs: 20, progressBar: false },
  );
  expect(runs.map((r) => r.state)).toEqual(['succeeded']);
}

const unbound = () => sim.tenant.incidents.find((i) => i.rule === 'UNBOUND_CLIENT_ACTIVITY')!;
const directory = () => dpodClientDirectory(dpod, () => new Date(now));
const lastDay = () => ({ from: new Date(now - 24 * HOUR), to: new Date(now) });

async function findings() {
  const { rows } = await t.pool.query<{ rule: string; service_id: string; client_id: string; count: number }>(
    'select rule, service_id, client_id, count from findings order by id',
  );
  return rows;
}

async function eventsOf(serviceId: string, clientId: string, from: number, to: number): Promise<number> {
  const { rows } = await t.pool.query<{ n: number }>(
    'select count(*)::int as n from audit_events where service_id = $1 and client_id = $2 and time >= $3 and time < $4',
    [serviceId, clientId, new Date(from), new Date(to)],
  );
  return rows[0]!.n;
}

it('does not run without DPoD', async () => {
  expect(await detectFindings(t.pool, lastDay(), rules, logger)).toMatchObject({ raised: 0 });
  expect(warnings).toEqual([]);
});

it('is skipped with a warning when DPoD is unreachable, and the other rules still run', async () => {
  sim.setFault('*', { errorRate: 1 });
  // The whole history: it holds the incidents' burst of wrong PINs (day -2, 03:00).
  const outcome = await detectFindings(
    t.pool,
    { from: new Date(sim.tenant.historyStartMs()), to: new Date(now) },
    { ...DEFAULT_DETECTION_SETTINGS, rules: ['UNBOUND_CLIENT_ACTIVITY', 'PIN_FAILURE_BURST'] },
    logger,
    {},
    { clientDirectory: directory() },
  );
  expect(outcome.byRule.UNBOUND_CLIENT_ACTIVITY).toEqual({ raised: 0, extended: 0 });
  expect(outcome.byRule.PIN_FAILURE_BURST).toEqual({ raised: 1, extended: 0 });
  expect(warnings).toEqual(["DPoD's bindings could not be read; UNBOUND_CLIENT_ACTIVITY is skipped for this pass"]);
  await t.pool.query('delete from findings');
});

it('is skipped with a warning when DPoD answers no service, or a service without its bindings', async () => {
  const empty: ClientDirectorySource = () => Promise.resolve({ readAt: new Date(now), bound: new Map() });
  const vanishing: ClientDirectorySource = dpodClientDirectory(
    { listServices: () => dpod.listServices(), listBindings: () => Promise.resolve(null) },
    () => new Date(now),
  );
  for (const clientDirectory of [empty, vanishing])
    expect(await detectFindings(t.pool, lastDay(), rules, logger, {}, { clientDirectory })).toMatchObject({
      raised: 0,
    });
  expect(warnings).toHaveLength(2);
  expect(await findings()).toEqual([]);
});

it('raises the unbound client that keeps acting once, and extends it while it goes on', async () => {
  const { serviceId, clientId } = unbound();
  // Another bound client of the same service, acting too, is not raised.
  expect(await detectFindings(t.pool, lastDay(), rules, logger, {}, { clientDirectory: directory() })).toMatchObject({
    raised: 1,
  });
  const since = now - 24 * HOUR;
  expect(await findings()).toEqual([
    {
      rule: 'UNBOUND_CLIENT_ACTIVITY',
      service_id: serviceId,
      client_id: clientId,
      count: await eventsOf(serviceId, clientId, since, now),
    },
  ]);
  // The same pass again raises nothing; six hours later, the follower's next pass extends the finding.
  expect(await detectFindings(t.pool, lastDay(), rules, logger, {}, { clientDirectory: directory() })).toMatchObject({
    raised: 0,
    extended: 0,
  });
  const before = now;
  now += 6 * HOUR;
  await ingest(before, now);
  expect(
    await detectFindings(
      t.pool,
      { from: new Date(before - 15 * 60_000), to: new Date(now) },
      rules,
      logger,
      {},
      { clientDirectory: directory() },
    ),
  ).toMatchObject({ raised: 0, extended: 1 });
  const [f] = await findings();
  expect(f!.count).toBe(await eventsOf(serviceId, clientId, since, now));
  expect(f!.count).toBeGreaterThan(0);
  expect(warnings).toEqual([]);
});
