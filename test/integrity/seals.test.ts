import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { applyRetention, importFiles } from '../../src/ingest';
import { sealClosedPeriods, verifyStore, type VerifyReport } from '../../src/integrity';
import { parseSigningKey } from '../../src/integrity/signing-key';
import { CLI, runCli } from '../support/cli';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { jsonLines, record } from '../ingest/hand-made';

const S1 = 'f59a597b-19b9-41df-b479-1530ed60fca3';
const S2 = '0c5e8f0e-8f5b-4f0e-9d1e-7b1d2a9c4e11';
const HOURS = ['2026-11-20 10', '2026-11-20 11', '2026-11-20 12'];
const NOW = new Date('2026-12-01T00:00:00Z');

let t: TestDatabase;
let dir: string;
let n = 0;

beforeAll(async () => {
  t = await createTestDatabase({ poolSize: 4 });
  dir = mkdtempSync(join(tmpdir(), 'seals-'));
});
afterAll(async () => {
  await t.drop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => t.truncate());

/** Imports hand-made records (two services, three hours, four events each) or the given ones. */
async function ingest(records?: Record<string, unknown>[]): Promise<void> {
  const lines =
    records ??
    [S1, S2].flatMap((service) =>
      HOURS.flatMap((hour) =>
        [0, 1, 2, 3].map((i) =>
          record({
            resourceID: service,
            time: `${hour}:0${i}:00 UTC`,
            status: i === 3 ? 'LUNA_RET_PIN_INCORRECT' : 'LUNA_RET_OK',
          }),
        ),
      ),
    );
  const path = join(dir, `in-${n++}.jsonl`);
  writeFileSync(path, jsonLines(lines));
  const [summary] = await importFiles({ db: t.db, pool: t.pool }, [path], { progressBar: false });
  expect(summary?.state).toBe('succeeded');
}

/** Polls `check` every 50 ms until it holds (10 s at most). */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out waiting');
}

const verify = (extra: Partial<Parameters<typeof verifyStore>[1]> = {}): Promise<VerifyReport> =>
  verifyStore(t.pool, { closedBefore: NOW, ...extra });

/** The periods that do not verify, as `hour service: problem`. */
function mismatches(report: VerifyReport): string[] {
  return report.periods
    .filter((p) => p.status === 'MISMATCH')
    .map((p) => `${p.periodStart.toISOString().slice(11, 13)} ${p.serviceId === S1 ? 'S1' : 'S2'}: ${p.problem ?? ''}`);
}

async function oneEvent(hour: string, service = S1): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    select id::text as id from audit_events
     where service_id = ${service} and time >= ${`${hour}:00:00Z`}::timestamptz
     order by time, id limit 1`.execute(t.db);
  const id = rows[0]?.id;
  if (!id) throw new Error('no event');
  return id;
}

describe('seals', () => {
  it('seals each closed (service, hour) once, chained per service, and verifies untouched data', async () => {
    await ingest();
    expect(await sealClosedPeriods(t.pool, { closedBefore: NOW })).toEqual({ sealed: 6, amended: 0, skipped: [] });
    expect(await sealClosedPeriods(t.pool, { closedBefore: NOW })).toEqual({ sealed: 0, amended: 0, skipped: [] });
    const { rows } = await sql<{ service_id: string; version: number; event_count: number; linked: boolean }>`
      select service_id, version, event_count,
             prev_hash is not distinct from lag(seal_hash) over (partition by service_id order by id) as linked
        from integrity_seals order by id`.execute(t.db);
    expect(rows).toHaveLength(6);
    expect(rows.every((r) => r.version === 1 && r.event_count === 4 && r.linked)).toBe(true);
    const report = await verify();
    expect(report).toMatchObject({ verified: true, chainProblems: [] });
    expect(report.periods.map((p) => p.status)).toEqual(Array(6).fill('SEALED'));
  });

  it('leaves open hours unsealed, and two sealers at once seal each period once', async () => {
    await ingest();
    const open = new Date('2026-11-20T12:30:00Z');
    expect((await sealClosedPeriods(t.pool, { closedBefore: open })).sealed).toBe(4);
    expect((await verify({ closedBefore: open })).periods.map((p) => p.status)).toEqual([
      'SEALED',
      'SEALED',
      'SEALED',
      'SEALED',
      'OPEN',
      'OPEN',
    ]);
    const [a, b] = await Promise.all([
      sealClosedPeriods(t.pool, { closedBefore: NOW }),
      sealClosedPeriods(t.pool, { closedBefore: NOW }),
    ]);
    expect(a.sealed + b.sealed).toBe(2);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from integrity_seals`.execute(t.db);
    expect(rows[0]?.n).toBe(6);
  });

  it.each([
    [
      'a changed status',
      (id: string) => sql`update audit_events set status = 'LUNA_RET_PIN_INCORRECT' where id = ${id}::bigint`,
      ['11 S1: 1 event(s) changed'],
    ],
    [
      'a deleted event',
      (id: string) => sql`delete from audit_events where id = ${id}::bigint`,
      ['11 S1: 1 event(s) missing'],
    ],
    [
      'a forged event',
      (id: string) => sql`
        insert into audit_events (time, event_key, occurrence, source, partition_id, service_id, client_id, action, status)
        select time + interval '1 second', gen_random_uuid(), 0, source, partition_id, service_id, client_id, 'LUNA_LOGIN', status
          from audit_events where id = ${id}::bigint`,
      ['11 S1: 1 event(s) added'],
    ],
    [
      'an event moved to another hour',
      (id: string) => sql`update audit_events set time = time + interval '1 hour' where id = ${id}::bigint`,
      ['11 S1: 1 event(s) missing', '12 S1: 1 event(s) added'],
    ],
  ])('detects %s by direct SQL, located to its period', async (_name, tamper, want) => {
    await ingest();
    await sealClosedPeriods(t.pool, { closedBefore: NOW });
    await tamper(await oneEvent('2026-11-20T11')).execute(t.db);
    const report = await verify();
    expect({ verified: report.verified, mismatches: mismatches(report), chain: report.chainProblems }).toEqual({
      verified: false,
      mismatches: want,
      chain: [],
    });
    // A later sealing pass does not bless the change: the period's events no longer add up to its rollups.
    const again = await sealClosedPeriods(t.pool, { closedBefore: NOW });
    expect(again.sealed + again.amended).toBe(0);
    expect(mismatches(await verify())).toEqual(want);
  });

  it('seals a new version of a period late records reach, pointing at the old one', async () => {
    await ingest();
    await sealClosedPeriods(t.pool, { closedBefore: NOW });
    await ingest([record({ resourceID: S1, time: '2026-11-20 11:30:00 UTC', action: 'LUNA_LOGIN' })]);
    expect(await sealClosedPeriods(t.pool, { closedBefore: NOW })).toEqual({ sealed: 0, amended: 1, skipped: [] });
    const { rows } = await sql<{ version: number; event_count: number; points_back: boolean }>`
      select s.version, s.event_count, s.supersedes is not distinct from (
               select o.id from integrity_seals o where o.service_id = s.service_id
                  and o.period_start = s.period_start and o.version = s.version - 1) as points_back
        from integrity_seals s where s.service_id = ${S1} and s.period_start = '2026-11-20T11:00:00Z'
       order by version`.execute(t.db);
    expect(rows).toEqual([
      { version: 1, event_count: 4, points_back: true },
      { version: 2, event_count: 5, points_back: true },
    ]);
    expect(await verify()).toMatchObject({ verified: true, chainProblems: [] });
  });

  it('signs seals; another key, an altered seal and a broken chain fail', async () => {
    const pem = (k: ReturnType<typeof generateKeyPairSync>) =>
      k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const mine = parseSigningKey(pem(generateKeyPairSync('ed25519')));
    const other = generateKeyPairSync('ed25519');
    await ingest();
    await sealClosedPeriods(t.pool, { closedBefore: NOW, signingKey: mine });
    const { createPublicKey } = await import('node:crypto');
    expect(await verify({ publicKey: createPublicKey(mine.publicKey.pem) })).toMatchObject({ verified: true });
    const wrong = await verify({ publicKey: other.publicKey });
    expect(wrong.verified).toBe(false);
    expect(wrong.chainProblems).toHaveLength(6);
    expect(wrong.chainProblems[0]).toContain("the signature is not the sealing key's");

    await sql`update integrity_seals set event_count = 3 where id = 2`.execute(t.db);
    await sql`update integrity_seals set prev_hash = repeat('0', 64) where id = 3`.execute(t.db);
    const broken = await verify();
    expect(broken.chainProblems.map((p) => p.replace(/\(service .*?\)/, '').replace(/points at .*/, ''))).toEqual([
      'seal 2 : its fields no longer match its hash (altered)',
      'seal 3 : its fields no longer match its hash (altered)',
      'seal 3 : the chain is broken (it ',
    ]);
  });

  it('after a sealing process SIGKILLed mid-pass and rerun, seals each period once', async () => {
    await ingest();
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: t.url, LOG_LEVEL: 'warn' };
    // Hold a lock the sealer's insert waits for, so the process is killed inside its sealing transaction.
    const blocker = await t.pool.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table integrity_seals in share mode');
      const child = spawn(process.execPath, [CLI, 'seal'], { env, stdio: 'ignore' });
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('exit', (_code, signal) => resolve(signal)),
      );
      await waitFor(async () => {
        const { rows } = await blocker.query<{ n: number }>(
          `select count(*)::int as n from pg_locks where relation = 'integrity_seals'::regclass and not granted`,
        );
        return (rows[0]?.n ?? 0) > 0;
      });
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      await blocker.query('rollback');
    } finally {
      blocker.release();
    }
    // The killed backend's transaction is gone once PostgreSQL notices the closed connection.
    await waitFor(async () => {
      const { rows } = await t.pool.query<{ n: number }>(
        `select count(*)::int as n from pg_locks where relation = 'integrity_seals'::regclass`,
      );
      return rows[0]?.n === 0;
    });
    expect((await sql<{ n: number }>`select count(*)::int as n from integrity_seals`.execute(t.db)).rows[0]?.n).toBe(0);
    const rerun = await runCli(['seal'], env);
    expect(rerun.stdout).toContain('sealed 6 period(s)');
    const { rows } = await sql<{ n: number; periods: number }>`
      select count(*)::int as n, count(distinct (service_id, period_start))::int as periods from integrity_seals`.execute(
      t.db,
    );
    expect(rows[0]).toEqual({ n: 6, periods: 6 });
    expect(await verify()).toMatchObject({ verified: true });
  });

  it('`dpod-audit verify` exits 1 naming the period, and 0 once it verifies', async () => {
    await ingest();
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: t.url, LOG_LEVEL: 'warn' };
    const sealed = await runCli(['seal'], env);
    expect(sealed).toMatchObject({ code: 0 });
    expect(sealed.stdout).toContain('sealed 6 period(s)');
    const ok = await runCli(['verify'], env);
    expect({ code: ok.code, out: ok.stdout.replace(/ in \d+\.\d\ds\n$/, '') }).toEqual({
      code: 0,
      out: '6 period(s) verified, 0 mismatch(es), 0 chain problem(s) (signatures not checked: no public key)',
    });
    await sql`delete from audit_events where id = ${await oneEvent('2026-11-20T10', S2)}::bigint`.execute(t.db);
    const bad = await runCli(['verify', '--service', S2], env);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(
      `MISMATCH 2026-11-20T10:00:00.000Z service ${S2} (seal v1, 4 event(s)): 1 event(s) missing`,
    );
    expect(bad.stderr).toContain('verification failed: 1 period(s)');
  });
});

describe('digest files, checked offline', () => {
  const keyPair = generateKeyPairSync('ed25519');
  const signingPem = keyPair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicPem = keyPair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  let digestPath: string;
  let eventsPath: string;
  let keyPath: string;

  /** Runs an offline `verify` with no database in reach. */
  const offline = (digest: string, events: string, extra: string[] = []) =>
    runCli(['verify', '--digest', digest, '--events', events, ...extra], {
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    });

  beforeEach(async () => {
    await ingest();
    const env = { DATABASE_URL: t.url, INTEGRITY_SIGNING_KEY: signingPem };
    expect(await runCli(['seal'], env)).toMatchObject({ code: 0 });
    digestPath = join(dir, `digest-${n}.json`);
    eventsPath = join(dir, `events-${n}.ndjson`);
    keyPath = join(dir, `key-${n}.pem`);
    writeFileSync(keyPath, publicPem);
    const out = await runCli(
      ['digest', '--from', '2026-11-20T10:00:00Z', '--to', '2026-11-20T12:00:00Z', '--events-out', eventsPath],
      env,
    );
    expect(out).toMatchObject({ code: 0, stderr: '' });
    writeFileSync(digestPath, out.stdout);
  });

  it('covers the range with a self-contained chain and verifies without the database', async () => {
    const digest = JSON.parse(readFileSync(digestPath, 'utf8')) as {
      format: string;
      publicKey: { fingerprint: string };
      chains: { serviceId: string; seals: { periodStart: string }[] }[];
    };
    expect(digest.format).toBe('dpod-audit-digest');
    expect(digest.publicKey.fingerprint).toBe(parseSigningKey(signingPem).publicKey.fingerprint);
    // Each chain runs from its first seal in range to the head (12:00 is out of range but links the chain on).
    expect(digest.chains.map((c) => c.seals.map((s) => s.periodStart.slice(11, 13)))).toEqual([
      ['10', '11', '12'],
      ['10', '11', '12'],
    ]);
    expect(readFileSync(eventsPath, 'utf8').trim().split('\n')).toHaveLength(16);
    const ok = await offline(digestPath, eventsPath, ['--public-key', keyPath]);
    expect({ code: ok.code, last: ok.stdout.trim().split('\n').pop() }).toEqual({
      code: 0,
      last: '4 period(s) verified, 0 mismatch(es), 0 unsealed, 0 chain problem(s), 0 event(s) outside the digest',
    });
    // Lines in another order give the same roots: the leaf order follows from the events alone.
    const shuffled = join(dir, 'shuffled.ndjson');
    writeFileSync(shuffled, readFileSync(eventsPath, 'utf8').trim().split('\n').reverse().join('\n'));
    expect((await offline(digestPath, shuffled)).code).toBe(0);
  });

  it('names a changed, a missing and a forged event in the file, each in its period', async () => {
    const lines = readFileSync(eventsPath, 'utf8').trim().split('\n');
    const changed = lines.map((l, i) => (i === 1 ? l.replace('"LUNA_RET_OK"', '"LUNA_RET_PIN_INCORRECT"') : l));
    const path = join(dir, 'tampered.ndjson');
    writeFileSync(
      path,
      [
        ...changed.slice(0, 5),
        ...changed.slice(6),
        lines[10]!.replace(/"time_us":"\d+"/, (m) => m.replace(/\d{3}"$/, '999"')),
      ].join('\n'),
    );
    const bad = await offline(digestPath, path, ['--public-key', keyPath]);
    expect(bad.code).toBe(1);
    expect(bad.stdout.split('\n').filter((l) => l.startsWith('MISMATCH'))).toEqual([
      expect.stringMatching(
        /^MISMATCH 2026-11-20T10:00:00.000Z service \S+ \(seal v1, 4 event\(s\)\): the file's 4 event\(s\) differ/,
      ),
      expect.stringMatching(
        /^MISMATCH 2026-11-20T11:00:00.000Z service \S+ \(seal v1, 4 event\(s\)\): the file holds 3 event\(s\), the seal 4 \(missing events\)/,
      ),
      expect.stringMatching(
        /^MISMATCH 2026-11-20T10:00:00.000Z service \S+ \(seal v1, 4 event\(s\)\): the file holds 5 event\(s\), the seal 4 \(added events\)/,
      ),
    ]);
    expect(bad.stderr).toContain('verification failed');
  });

  it('fails a digest signed with another key, an altered seal and a broken chain', async () => {
    const other = generateKeyPairSync('ed25519');
    const otherKey = join(dir, 'other.pem');
    writeFileSync(otherKey, other.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const wrongKey = await offline(digestPath, eventsPath, ['--public-key', otherKey]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stdout).toContain('not the trusted key');
    expect(wrongKey.stdout).toContain("the signature is not the sealing key's");

    type Digest = { chains: { seals: { eventCount: number }[] }[] };
    const edit = (change: (d: Digest) => void): string => {
      const d = JSON.parse(readFileSync(digestPath, 'utf8')) as Digest;
      change(d);
      const path = join(dir, `edited-${n++}.json`);
      writeFileSync(path, JSON.stringify(d));
      return path;
    };
    const altered = await offline(
      edit((d) => (d.chains[0]!.seals[0]!.eventCount = 3)),
      eventsPath,
    );
    expect(altered.code).toBe(1);
    expect(altered.stdout).toMatch(/CHAIN seal \d+ .*its fields do not match its hash \(altered\)/);
    const broken = await offline(
      edit((d) => d.chains[0]!.seals.splice(1, 1)),
      eventsPath,
    );
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/CHAIN seal \d+ .*the chain is broken/);
  });
});

describe('retention', () => {
  it('keeps the seals of the months it drops: the chain verifies and those periods report EXPIRED', async () => {
    const old = ['2026-09-10 08', '2026-09-10 09'].flatMap((hour) =>
      [0, 1].map((i) => record({ resourceID: S1, time: `${hour}:0${i}:00 UTC` })),
    );
    await ingest([...old, record({ resourceID: S1, time: '2026-11-20 10:00:00 UTC' })]);
    expect((await sealClosedPeriods(t.pool, { closedBefore: NOW })).sealed).toBe(3);
    const outcome = await applyRetention({ db: t.db }, { olderThanDays: 60, now: NOW });
    expect(outcome.droppedPartitions).toEqual(['audit_events_y2026m09']);
    const report = await verify();
    expect(report).toMatchObject({ verified: true, chainProblems: [] });
    expect(report.periods.map((p) => `${p.periodStart.toISOString().slice(0, 13)} ${p.status}`)).toEqual([
      '2026-09-10T08 EXPIRED',
      '2026-09-10T09 EXPIRED',
      '2026-11-20T10 SEALED',
    ]);
    // Deleting events of a kept month is still a mismatch, not an expiry.
    await sql`delete from audit_events where service_id = ${S1}`.execute(t.db);
    expect(mismatches(await verify())).toEqual(['10 S1: 1 event(s) missing']);
  });
});
