import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CLI, runCli } from '../support/cli';
import { DEFAULT_DETECTION_SETTINGS, detectFindings, detectRange, type DetectionSettings } from '../../src/detect';
import { importFiles } from '../../src/ingest';
import { jsonLines, record, writeText } from '../ingest/hand-made';
import { useIngestStore } from '../ingest/store-fixture';

// Each detection rule on hand-made events in a real store: it fires on its scenario, stays silent on the routine
// look-alike next to it, and passes over the same data (overlapping, repeated, concurrent) raise nothing twice.

const store = useIngestStore('detect-', { truncateEach: true });
const ALICE = 'aaaaaaaa-0000-4000-8000-000000000001';
const BOB = 'bbbbbbbb-0000-4000-8000-000000000002';
const DAY = 86_400_000;
const T0 = Date.parse('2026-11-20T12:00:00Z');

interface Ev {
  at: number;
  client?: string;
  action?: string;
  status?: string;
  role?: string;
  ip?: string;
  trace?: string;
}

let seq = 0;
function ev(e: Ev): Record<string, unknown> {
  return record({
    time: new Date(e.at).toISOString(),
    actorID: e.client ?? ALICE,
    action: e.action ?? 'LUNA_SIGN',
    status: e.status ?? 'LUNA_RET_OK',
    traceID: e.trace ?? `t${seq++}`,
    meta: JSON.stringify({
      clientip: e.ip ?? '10.0.0.1',
      hsmid: '567782',
      ouids: '2d00000012ab',
      partid: '1334049524932',
      role: e.role ?? 'CO',
    }),
  });
}

async function load(events: Record<string, unknown>[]): Promise<void> {
  const path = writeText(join(store.dir, `e-${seq++}.jsonl`), jsonLines(events));
  const [summary] = await importFiles({ db: store.t.db, pool: store.t.pool }, [path], { leaves: false });
  expect(summary).toMatchObject({ state: 'succeeded', rejected: 0 });
}

const settings = (overrides: Partial<DetectionSettings> = {}): DetectionSettings => ({
  ...DEFAULT_DETECTION_SETTINGS,
  ...overrides,
});

async function findings() {
  const { rows } = await store.t.pool.query<{
    rule: string;
    severity: string;
    client_id: string;
    subject: string | null;
    count: number;
    first_seen: Date;
    last_seen: Date;
    summary: string;
  }>('select rule, severity, client_id, subject, count, first_seen, last_seen, summary from findings order by id');
  return rows;
}

const day = (from: number) => ({ from: new Date(from), to: new Date(from + DAY) });
const min = (n: number) => n * 60_000;

describe('PIN_FAILURE_BURST', () => {
  const wrongPin = (at: number, client = ALICE) =>
    ev({ at, client, action: 'LUNA_LOGIN', status: 'LUNA_RET_UM_PIN_INCORRECT' });
  const login = (at: number, client = ALICE) => ev({ at, client, action: 'LUNA_LOGIN' });

  it('raises one finding for a run of wrong PINs, none for mistypes followed by a login, and extends the run', async () => {
    const events = [];
    for (let i = 0; i < 6; i++) events.push(wrongPin(T0 + min(i)));
    // Bob mistypes three times and logs in, five times over: routine.
    for (let k = 0; k < 5; k++) {
      for (let i = 0; i < 3; i++) events.push(wrongPin(T0 + min(10 * k + i), BOB));
      events.push(login(T0 + min(10 * k + 4), BOB));
    }
    await load(events);
    const s = settings({ rules: ['PIN_FAILURE_BURST'] });
    const first = await detectFindings(store.t.pool, day(T0 - DAY / 2), s);
    expect(first.raised).toBe(1);
    expect(await findings()).toEqual([
      expect.objectContaining({ rule: 'PIN_FAILURE_BURST', severity: 'HIGH', client_id: ALICE, count: 6 }),
    ]);
    // The same range again, and an overlapping one: nothing new.
    expect(await detectFindings(store.t.pool, day(T0 - DAY / 2), s)).toMatchObject({ raised: 0, extended: 0 });
    expect(await detectFindings(store.t.pool, day(T0 - DAY / 4), s)).toMatchObject({ raised: 0, extended: 0 });

    // Two more failures much later, no login in between: the same run goes on, seen by a pass that starts after it.
    await load([wrongPin(T0 + 3 * 3_600_000), wrongPin(T0 + 3 * 3_600_000 + 1000)]);
    const later = await detectFindings(
      store.t.pool,
      { from: new Date(T0 + 2 * 3_600_000), to: new Date(T0 + 4 * 3_600_000) },
      s,
    );
    expect(later).toMatchObject({ raised: 0, extended: 1 });
    const [f] = await findings();
    expect(f).toMatchObject({ count: 8 });
    expect(f!.first_seen.getTime()).toBe(T0);
    expect(f!.last_seen.getTime()).toBe(T0 + 3 * 3_600_000 + 1000);

    // After a successful login, a new burst is a new finding.
    const again = [login(T0 + 5 * 3_600_000)];
    for (let i = 0; i < 5; i++) again.push(wrongPin(T0 + 5 * 3_600_000 + min(1 + i)));
    await load(again);
    expect(await detectFindings(store.t.pool, day(T0), s)).toMatchObject({ raised: 1 });
    expect((await findings()).map((x) => x.count)).toEqual([8, 5]);
  });

  it('finds a burst that straddles an hour boundary, and with a window longer than an hour (read through the rollups)', async () => {
    // T0 is 12:00: three failures before, three after; neither hour alone holds five.
    const events = [];
    for (let i = 0; i < 3; i++) events.push(wrongPin(T0 - min(3 - i)));
    for (let i = 0; i < 3; i++) events.push(wrongPin(T0 + min(i)));
    // Bob: five failures spread over 100 minutes, no login between: a burst only for a window of two hours.
    for (let i = 0; i < 5; i++) events.push(wrongPin(T0 + 6 * 3_600_000 + min(25 * i), BOB));
    await load(events);
    expect(
      await detectFindings(store.t.pool, day(T0 - DAY / 2), settings({ rules: ['PIN_FAILURE_BURST'] })),
    ).toMatchObject({ raised: 1 });
    expect((await findings()).map((f) => [f.client_id, f.count])).toEqual([[ALICE, 6]]);
    const wide = settings({ rules: ['PIN_FAILURE_BURST'], pinWindowSeconds: 7200 });
    expect(await detectFindings(store.t.pool, day(T0 - DAY / 2), wide)).toMatchObject({ raised: 1 });
    expect((await findings()).map((f) => [f.client_id, f.count])).toEqual([
      [ALICE, 6],
      [BOB, 5],
    ]);
  });

  it('counts a burst found by two passes that each see part of it once', async () => {
    const events = [];
    for (let i = 0; i < 10; i++) events.push(wrongPin(T0 + min(i)));
    await load(events);
    const s = settings({ rules: ['PIN_FAILURE_BURST'] });
    // The first pass ends in the middle of the run, the next starts there.
    await detectFindings(store.t.pool, { from: new Date(T0 - DAY), to: new Date(T0 + min(5) + 1) }, s);
    await detectFindings(store.t.pool, { from: new Date(T0 + min(5) + 1), to: new Date(T0 + DAY) }, s);
    expect(await findings()).toEqual([expect.objectContaining({ count: 10 })]);
  });
});

describe('DESTRUCTIVE_OPERATION', () => {
  it('raises each partition-officer zeroize, and a mass destroy, not single destroys or a CO zeroize', async () => {
    const events = [
      ev({ at: T0, action: 'LUNA_PARTITION_ZEROIZE', role: 'PO' }),
      ev({ at: T0 + 1000, action: 'LUNA_PARTITION_ZEROIZE', role: 'CO', status: 'LUNA_RET_OK', client: BOB }),
    ];
    for (let i = 0; i < 12; i++) events.push(ev({ at: T0 + min(1) + i * 10_000, action: 'LUNA_DESTROY_OBJECT' }));
    // Bob rotates keys: a destroy every hour.
    for (let i = 0; i < 12; i++)
      events.push(ev({ at: T0 + i * 3_600_000, action: 'LUNA_DESTROY_OBJECT', client: BOB }));
    await load(events);
    const s = settings({ rules: ['DESTRUCTIVE_OPERATION'] });
    expect(await detectFindings(store.t.pool, day(T0 - 1000), s)).toMatchObject({ raised: 2 });
    expect(await detectFindings(store.t.pool, day(T0 - DAY / 2), s)).toMatchObject({ raised: 0, extended: 0 });
    expect(await findings()).toEqual([
      expect.objectContaining({ severity: 'CRITICAL', client_id: ALICE, subject: 'LUNA_PARTITION_ZEROIZE', count: 1 }),
      expect.objectContaining({ client_id: ALICE, subject: 'LUNA_DESTROY_OBJECT', count: 12 }),
    ]);
  });
});

describe('KEY_EXPORT_BY_NEW_CLIENT', () => {
  it('raises the first export of a client, not the exports of one that exported in the trailing 30 days', async () => {
    await load([
      // The store's history of the service begins 40 days back.
      ev({ at: T0 - 40 * DAY, client: BOB }),
      ev({ at: T0 - 10 * DAY, client: BOB, action: 'LUNA_WRAP_KEY' }),
      ev({ at: T0, client: BOB, action: 'LUNA_WRAP_KEY' }),
      ev({ at: T0, action: 'LUNA_CLONE_AS_SOURCE' }),
      ev({ at: T0 + 1000, action: 'LUNA_WRAP_KEY' }),
    ]);
    const s = settings({ rules: ['KEY_EXPORT_BY_NEW_CLIENT'] });
    // Only today is read: Bob's export ten days ago is history, not a new finding.
    expect(await detectFindings(store.t.pool, day(T0 - 1000), s)).toMatchObject({ raised: 1 });
    expect(await findings()).toEqual([expect.objectContaining({ client_id: ALICE, count: 2 })]);
    // A backfill over the whole range raises Bob's first export once, and leaves Alice's finding as it is.
    const all = await detectRange(store.t.pool, { from: new Date(T0 - 11 * DAY), to: new Date(T0 + DAY) }, s);
    expect(all).toMatchObject({ raised: 1 });
    expect((await findings()).map((f) => [f.client_id, f.count])).toEqual([
      [ALICE, 2],
      [BOB, 2],
    ]);
  });

  it('raises nothing while the store holds less than the trailing days of the service', async () => {
    await load([ev({ at: T0 - 20 * DAY }), ev({ at: T0, client: BOB, action: 'LUNA_WRAP_KEY' })]);
    const s = settings({ rules: ['KEY_EXPORT_BY_NEW_CLIENT'] });
    expect(await detectFindings(store.t.pool, day(T0 - 1000), s)).toMatchObject({ raised: 0 });
    expect(await detectFindings(store.t.pool, day(T0 - 1000), { ...s, historyDays: 15 })).toMatchObject({ raised: 1 });
  });
});

describe('NEW_CLIENT_ADDRESS', () => {
  it('raises a known client acting from a new /24, not a new client, nor a new host in a known /24', async () => {
    const events = [];
    for (let d = 10; d >= 1; d--) events.push(ev({ at: T0 - d * DAY, ip: '10.0.0.1' }));
    events.push(
      ev({ at: T0, ip: '10.0.0.77' }),
      ev({ at: T0 + 1000, ip: '192.168.5.7' }),
      ev({ at: T0 + 2000, ip: '192.168.5.9' }),
    );
    // Bob's first day: every address is new, and none raises.
    events.push(ev({ at: T0 - DAY, client: BOB, ip: '10.9.9.9' }), ev({ at: T0, client: BOB, ip: '172.16.0.1' }));
    await load(events);
    const s = settings({ rules: ['NEW_CLIENT_ADDRESS'] });
    expect(await detectFindings(store.t.pool, day(T0 - 1000), s)).toMatchObject({ raised: 1 });
    expect(await findings()).toEqual([
      expect.objectContaining({ severity: 'MEDIUM', client_id: ALICE, subject: '192.168.5.0/24', count: 2 }),
    ]);
    // The next day, from the same prefix: the finding goes on.
    await load([ev({ at: T0 + DAY + 5000, ip: '192.168.5.10' })]);
    expect(await detectFindings(store.t.pool, day(T0 + DAY), s)).toMatchObject({ raised: 0, extended: 1 });
    expect(await findings()).toEqual([expect.objectContaining({ count: 3 })]);
  });
  it('raises a new /24 in a follower-style pass over part of a day whose earlier hours used a known one', async () => {
    const at = (hh: number, mm: number) => Date.parse('2026-11-20T00:00:00Z') + hh * 3_600_000 + min(mm);
    const events = [];
    for (let d = 10; d >= 1; d--) events.push(ev({ at: at(10, 0) - d * DAY, ip: '10.0.0.1' }));
    events.push(
      ev({ at: at(9, 0), ip: '10.0.0.1' }),
      ev({ at: at(10, 5), ip: '10.0.0.2' }),
      ev({ at: at(10, 20), ip: '192.168.5.7' }),
      ev({ at: at(10, 25), ip: '10.0.0.1' }),
      ev({ at: at(10, 40), ip: '192.168.5.9' }),
    );
    await load(events);
    const s = settings({ rules: ['NEW_CLIENT_ADDRESS'] });
    const pass = (from: number, to: number) =>
      detectFindings(store.t.pool, { from: new Date(from), to: new Date(to) }, s);
    expect(await pass(at(10, 0), at(10, 15))).toMatchObject({ raised: 0, extended: 0 });
    expect(await pass(at(10, 15), at(10, 30))).toMatchObject({ raised: 1, extended: 0 });
    expect(await findings()).toEqual([
      expect.objectContaining({
        client_id: ALICE,
        subject: '192.168.5.0/24',
        count: 1,
        first_seen: new Date(at(10, 20)),
      }),
    ]);
    // A pass between the prefix's uses of the day sees none of them; the next one extends the finding.
    expect(await pass(at(10, 22), at(10, 38))).toMatchObject({ raised: 0, extended: 0 });
    expect(await pass(at(10, 30), at(10, 45))).toMatchObject({ raised: 0, extended: 1 });
    expect(await findings()).toEqual([expect.objectContaining({ count: 2, last_seen: new Date(at(10, 40)) })]);
    // The whole day again changes nothing.
    expect(await pass(at(0, 0), at(24, 0))).toMatchObject({ raised: 0, extended: 0 });
    expect(await findings()).toHaveLength(1);
  });
});

describe('VOLUME_SPIKE', () => {
  it('raises an hour far above the client median, not the steady hours around it', async () => {
    const events = [];
    // Eight days at 2 events an hour, then 600 in one hour.
    for (let h = 8 * 24; h >= 1; h--)
      events.push(ev({ at: T0 - h * 3_600_000 }), ev({ at: T0 - h * 3_600_000 + 1000 }));
    for (let i = 0; i < 600; i++) events.push(ev({ at: T0 + i * 5000 }));
    events.push(ev({ at: T0 + 3_600_000 }));
    await load(events);
    const s = settings({ rules: ['VOLUME_SPIKE'] });
    expect(await detectFindings(store.t.pool, day(T0 - DAY), s)).toMatchObject({ raised: 0 });
    expect(await detectFindings(store.t.pool, day(T0), s)).toMatchObject({ raised: 1 });
    expect(
      await detectFindings(store.t.pool, { from: new Date(T0 - 3_600_000), to: new Date(T0 + DAY) }, s),
    ).toMatchObject({ raised: 0, extended: 0 });
    expect(await findings()).toEqual([expect.objectContaining({ client_id: ALICE, count: 600 })]);
  });
});

describe('a detection pass', () => {
  it('run twice at once by two callers raises each finding once', async () => {
    const events = [ev({ at: T0, action: 'LUNA_PARTITION_ZEROIZE', role: 'PO' })];
    for (let i = 0; i < 6; i++)
      events.push(ev({ at: T0 + i * 1000, action: 'LUNA_LOGIN', status: 'LUNA_RET_UM_PIN_INCORRECT' }));
    await load(events);
    const outcomes = await Promise.all([
      detectFindings(store.t.pool, day(T0 - 1000), settings()),
      detectFindings(store.t.pool, day(T0 - 2000), settings()),
    ]);
    expect(outcomes.map((o) => o.raised).sort()).toEqual([0, 2]);
    expect((await findings()).map((f) => f.rule).sort()).toEqual(['DESTRUCTIVE_OPERATION', 'PIN_FAILURE_BURST']);
  });

  it('killed (SIGKILL) in the middle of its transaction leaves nothing, and the rerun raises each finding once', async () => {
    const events = [ev({ at: T0, action: 'LUNA_PARTITION_ZEROIZE', role: 'PO' })];
    for (let i = 0; i < 6; i++)
      events.push(ev({ at: T0 + i * 1000, action: 'LUNA_LOGIN', status: 'LUNA_RET_UM_PIN_INCORRECT' }));
    await load(events);
    const env = {
      DATABASE_URL: store.t.url,
      WEBHOOK_URLS: 'http://127.0.0.1:9/hook',
      WEBHOOK_SECRET: 'a-secret-of-16-chars',
    };
    const args = ['detect', '--from', new Date(T0 - 1000).toISOString(), '--to', new Date(T0 + DAY).toISOString()];
    // Hold the findings table: the pass blocks on its first insert, mid-transaction, and is killed there.
    const blocker = await store.t.pool.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table findings in exclusive mode');
      const child = spawn(process.execPath, [CLI, ...args], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
        stdio: 'ignore',
      });
      const exited = new Promise((r) => child.once('exit', r));
      const waiting = async () =>
        (
          await store.t.pool.query<{ n: number }>(
            `select count(*)::int as n from pg_locks l join pg_class c on c.oid = l.relation
              where c.relname = 'findings' and not l.granted`,
          )
        ).rows[0]!.n > 0;
      for (const end = Date.now() + 30_000; !(await waiting());) {
        if (Date.now() > end) throw new Error('the detection pass never reached the findings table');
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill('SIGKILL');
      await exited;
      await blocker.query('commit');
    } finally {
      blocker.release();
    }
    // The killed session's transaction rolls back: no finding, no webhook delivery queued.
    for (const end = Date.now() + 10_000; ;) {
      const { rows } = await store.t.pool.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name <> '' and pid <> pg_backend_pid() and state = 'active' and query ilike '%findings%'`,
      );
      if (rows[0]!.n === 0 || Date.now() > end) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await findings()).toEqual([]);
    expect((await store.t.pool.query('select 1 from webhook_deliveries')).rowCount).toBe(0);
    const rerun = await runCli(args, env);
    expect(rerun.code).toBe(0);
    const after = await findings();
    expect(after.map((f) => [f.rule, f.count]).sort()).toEqual([
      ['DESTRUCTIVE_OPERATION', 1],
      ['PIN_FAILURE_BURST', 6],
    ]);
    expect((await store.t.pool.query('select 1 from webhook_deliveries')).rowCount).toBe(2);
    // And once more: nothing new.
    expect((await runCli(args, env)).code).toBe(0);
    expect(await findings()).toEqual(after);
  }, 90_000);
});
