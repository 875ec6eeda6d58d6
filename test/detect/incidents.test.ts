import { DEFAULT_DETECTION_SETTINGS, detectRange, dpodClientDirectory } from '../../src/detect';
import { DpodClient } from '../../src/dpod';
import { backfill } from '../../src/ingest';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { generateEvents } from '../../src/simulator/record-generator';
import { createTestDatabase, type TestDatabase } from '../support/db';

// The simulator's incidents as ground truth: over 33 days of its traffic, ingested through the Audit Query API and
// run through every rule (DPoD's bindings read from the simulator), the findings are exactly one per scenario; the
// same tenant without incidents raises none.

const NOW = new Date('2026-11-20T12:00:00.000Z');
const DAY = 86_400_000;
// KEY_EXPORT_BY_NEW_CLIENT needs 30 days of the service's history before its scenario (day -1, 10:00).
const DAYS = 33;
const TENANT = { seed: 7, services: 3, clientsPerService: 4, eventsPerDay: 300, days: DAYS } as const;

interface Stored {
  rule: string;
  service_id: string;
  client_id: string;
  first_seen: Date;
  last_seen: Date;
  count: number;
}

async function ingestAndDetect(
  incidents: boolean,
): Promise<{ sim: RunningSimulator; t: TestDatabase; found: Stored[] }> {
  const [t, sim] = await Promise.all([
    createTestDatabase({ poolSize: 4 }),
    startSimulator({ port: 0, ...TENANT, incidents, now: () => NOW, exportDelayMs: 0 }),
  ]);
  const dpod = new DpodClient({
    apiUrl: sim.url,
    tokenUrl: sim.tokenUrl,
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
  });
  const range = { from: new Date(sim.tenant.historyStartMs()), to: NOW };
  const runs = await backfill({ db: t.db, pool: t.pool, dpod }, range, {
    windowDays: 17,
    pollIntervalMs: 20,
    progressBar: false,
  });
  expect(runs.map((r) => r.state)).toEqual(['succeeded', 'succeeded']);
  await detectRange(t.pool, range, DEFAULT_DETECTION_SETTINGS, {
    clientDirectory: dpodClientDirectory(dpod, () => NOW),
  });
  const { rows } = await t.pool.query<Stored>(
    'select rule, service_id, client_id, first_seen, last_seen, count from findings order by rule',
  );
  return { sim, t, found: rows };
}

describe('with incidents', () => {
  let sim: RunningSimulator;
  let t: TestDatabase;
  let found: Stored[];
  beforeAll(async () => {
    ({ sim, t, found } = await ingestAndDetect(true));
  }, 120_000);
  afterAll(async () => {
    await Promise.all([sim?.stop(), t?.drop()]);
  });

  it('raises exactly one finding per scenario, with its rule, service, client, span and count', () => {
    const incidents = sim.tenant.incidents;
    expect(incidents.map((i) => i.rule).sort()).toEqual([...DEFAULT_DETECTION_SETTINGS.rules].sort());
    const expected = incidents.map((i) => {
      // What the rule counts: the scenario's own records; for an unbound client, all it did in the horizon (24 h).
      const events =
        i.rule === 'UNBOUND_CLIENT_ACTIVITY'
          ? [...generateEvents(sim.tenant, new Date(NOW.getTime() - DAY), NOW)]
              .filter((e) => e.serviceId === i.serviceId && e.clientId === i.clientId)
              .map((e) => e.ms)
          : i.events
              .filter(
                (e) =>
                  (i.rule !== 'PIN_FAILURE_BURST' || e.status !== 'LUNA_RET_OK') &&
                  (i.rule !== 'DESTRUCTIVE_OPERATION' || e.action === 'LUNA_DESTROY_OBJECT') &&
                  (i.rule !== 'KEY_EXPORT_BY_NEW_CLIENT' || e.action === 'LUNA_WRAP_KEY'),
              )
              .map((e) => e.ms);
      return {
        rule: i.rule,
        service_id: i.serviceId,
        client_id: i.clientId,
        first_seen: new Date(Math.min(...events)),
        last_seen: new Date(Math.max(...events)),
        count: events.length,
      };
    });
    expect(found).toEqual(expected.sort((a, b) => a.rule.localeCompare(b.rule)));
    // The counts the scenarios are written with (docs/simulator.md#incidents).
    expect(Object.fromEntries(found.map((f) => [f.rule, f.count]))).toMatchObject({
      PIN_FAILURE_BURST: 7,
      DESTRUCTIVE_OPERATION: 12,
      KEY_EXPORT_BY_NEW_CLIENT: 3,
      NEW_CLIENT_ADDRESS: 6,
      VOLUME_SPIKE: 720,
    });
  });

  it('raises nothing more on a second backfill of the same range', async () => {
    const dpod = new DpodClient({
      apiUrl: sim.url,
      tokenUrl: sim.tokenUrl,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
    });
    const again = await detectRange(
      t.pool,
      { from: new Date(sim.tenant.historyStartMs()), to: NOW },
      DEFAULT_DETECTION_SETTINGS,
      {
        clientDirectory: dpodClientDirectory(dpod, () => NOW),
      },
    );
    expect(again).toMatchObject({ raised: 0, extended: 0 });
  });
});

describe('routine traffic', () => {
  let sim: RunningSimulator;
  let t: TestDatabase;
  let found: Stored[];
  beforeAll(async () => {
    ({ sim, t, found } = await ingestAndDetect(false));
  }, 120_000);
  afterAll(async () => {
    await Promise.all([sim?.stop(), t?.drop()]);
  });

  it('raises no finding of any rule over 33 days', () => {
    expect(sim.tenant.incidents).toEqual([]);
    expect(found).toEqual([]);
  });
});
