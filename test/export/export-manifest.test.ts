import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { checkManifest, type ExportManifest } from '../../src/export/export-manifest';
import { sealClosedPeriods } from '../../src/integrity';
import { parseSigningKey } from '../../src/integrity/signing-key';
import { runCli } from '../support/cli';
import { startSeededApp, type SeededApp } from '../server/support/seeded-app';

const HOUR = 3_600_000;
const privatePem = (k: ReturnType<typeof generateKeyPairSync>) =>
  k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const sealingPem = privatePem(generateKeyPairSync('ed25519'));
const sealingKey = parseSigningKey(sealingPem);
const trusted = createPublicKey(sealingKey.publicKey.pem);

let app: SeededApp;
let dir: string;
let serviceA: string;
/** Six whole hours that closed well before now, sealed. */
let from: string;
let to: string;

async function get(path: string, query: Record<string, string>): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(`${app.url}${path}?${new URLSearchParams(query).toString()}`);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

async function exportWithManifest(filter: Record<string, unknown>, format = 'csv') {
  const query = { format, filter: JSON.stringify(filter) };
  const file = await get('/export', query);
  const manifest = await get('/export/manifest', query);
  expect([file.status, manifest.status]).toEqual([200, 200]);
  return { file: file.body, manifest: JSON.parse(manifest.body.toString('utf8')) as ExportManifest };
}

beforeAll(async () => {
  app = await startSeededApp({ env: { INTEGRITY_SIGNING_KEY: sealingPem }, eventsPerDay: 400 });
  serviceA = app.sim.tenant.listedServices().filter((s) => s.hasAuditData)[0]!.id;
  const hour = Math.floor(app.sim.tenant.now().getTime() / HOUR) * HOUR;
  from = new Date(hour - 10 * HOUR).toISOString();
  to = new Date(hour - 4 * HOUR).toISOString();
  await sealClosedPeriods(app.db.pool, { closedBefore: new Date(hour - 2 * HOUR), signingKey: sealingKey });
  dir = await mkdtemp(join(tmpdir(), 'dpod-manifest-'));
}, 120_000);

afterAll(async () => {
  await app?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('ties an export of whole hours to their signed seals: the file, its counts per period and the seals verify', async () => {
  for (const format of ['csv', 'ndjson']) {
    const { file, manifest } = await exportWithManifest({ from, to, serviceIds: [serviceA] }, format);
    expect(manifest.file.sha256).toBe(createHash('sha256').update(file).digest('hex'));
    expect(manifest.wholePeriods).toBe(true);
    expect(manifest.periods).toHaveLength(6);
    for (const p of manifest.periods) {
      expect(p).toMatchObject({ serviceId: serviceA, complete: true });
      expect(p.seal?.signature).toBeTruthy();
      expect(p.exported).toBe(p.seal!.eventCount);
    }
    expect(manifest.periods.reduce((n, p) => n + p.exported, 0)).toBe(manifest.file.events);
    expect(manifest.publicKey?.fingerprint).toBe(sealingKey.publicKey.fingerprint);
    expect(await checkManifest(manifest, Readable.from([file]), trusted)).toMatchObject({
      verified: true,
      problems: [],
      sealed: 6,
    });
  }
});

it('names what does not hold: a changed file, a changed manifest, another key, events deleted after sealing', async () => {
  const { file, manifest } = await exportWithManifest({ from, to, serviceIds: [serviceA] });
  const changed = Buffer.from(file);
  changed[changed.length - 10] = changed[changed.length - 10] === 0x41 ? 0x42 : 0x41;
  expect((await checkManifest(manifest, Readable.from([changed]), trusted)).problems.join('\n')).toMatch(
    /the file was changed/,
  );
  const inflated = { ...manifest, file: { ...manifest.file, events: manifest.file.events + 1 } };
  expect((await checkManifest(inflated, Readable.from([file]), trusted)).problems.join('\n')).toMatch(
    /the manifest's signature does not verify/,
  );
  const other = createPublicKey(parseSigningKey(privatePem(generateKeyPairSync('ed25519'))).publicKey.pem);
  const wrong = await checkManifest(manifest, Readable.from([file]), other);
  expect(wrong.verified).toBe(false);
  expect(wrong.problems[0]).toMatch(/not the trusted key/);

  // Someone with write access deletes one event of a sealed hour: the next export of that hour cannot match its seal.
  const victim = manifest.periods[2]!;
  await app.db.pool.query(
    `delete from audit_events where id = (select id from audit_events where service_id = $1 and time >= $2 and time < $3 limit 1)`,
    [serviceA, victim.periodStart, new Date(Date.parse(victim.periodStart) + HOUR).toISOString()],
  );
  const after = await exportWithManifest({ from, to, serviceIds: [serviceA] });
  const report = await checkManifest(after.manifest, Readable.from([after.file]), trusted);
  expect(report.verified).toBe(false);
  expect(report.problems).toEqual([
    `${serviceA} ${victim.periodStart}: ${victim.exported - 1} event(s) exported of a period sealed with ${victim.exported}: the store's events changed since it was sealed (dpod-audit verify locates it)`,
  ]);
});

it('a filtered export is tied to its periods without claiming them complete; the command line writes and checks it', async () => {
  const filter = JSON.stringify({ from, to, succeeded: true });
  const env = { DATABASE_URL: app.db.url, INTEGRITY_SIGNING_KEY: sealingPem };
  const manifestFile = join(dir, 'manifest.json');
  const out = await runCli(['export', '--filter', filter, '--manifest', manifestFile, '--no-progress'], env);
  expect(out.code).toBe(0);
  expect(out.stderr).toMatch(/manifest .*manifest\.json: \d+ period\(s\), \d+ sealed, signed by [0-9a-f]{64}/);
  const csvFile = join(dir, 'export.csv');
  await writeFile(csvFile, out.stdout);
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as ExportManifest;
  expect(manifest.wholePeriods).toBe(false);
  expect(manifest.periods.every((p) => !p.complete)).toBe(true);
  expect(manifest.periods.length).toBeGreaterThan(6); // every service's hours
  const pub = join(dir, 'sealing.pub.pem');
  await writeFile(pub, sealingKey.publicKey.pem);
  const ok = await runCli(['verify', '--manifest', manifestFile, '--export', csvFile, '--public-key', pub], {});
  expect(ok.stdout).toContain(`key ${sealingKey.publicKey.fingerprint}`);
  expect(ok.stdout).toMatch(/0 problem\(s\)/);
  expect(ok.code).toBe(0);
  await writeFile(csvFile, out.stdout.replace(/LUNA_RET_OK/, 'LUNA_RET_NO'));
  const bad = await runCli(['verify', '--manifest', manifestFile, '--export', csvFile, '--public-key', pub], {});
  expect(bad.stdout).toMatch(/PROBLEM the file's SHA-256 is [0-9a-f]{64}, the manifest says/);
  expect(bad.code).toBe(1);
});

it('reports the periods retention dropped as expired, not as events deleted since sealing', async () => {
  const before = await exportWithManifest({ from, to, serviceIds: [serviceA] });
  const first = before.manifest.periods[0]!;
  const cut = new Date(Date.parse(first.periodStart) + HOUR).toISOString();
  // What retention does to a month, on one hour: the events go, the seal stays, the cut is recorded.
  await app.db.pool.query('delete from audit_events where time < $1 and service_id = $2', [cut, serviceA]);
  await app.db.pool.query(`insert into integrity_retention (dropped_before, partitions) values ($1, '{}')`, [cut]);
  try {
    const after = await exportWithManifest({ from, to, serviceIds: [serviceA] });
    const expired = after.manifest.periods.find((p) => p.periodStart === first.periodStart)!;
    expect(expired).toMatchObject({ exported: 0, expired: true, complete: false });
    expect(expired.seal?.eventCount).toBe(first.exported);
    const report = await checkManifest(after.manifest, Readable.from([after.file]), trusted);
    // The hour deleted by the test before is still reported; the expired one is not.
    expect(report.problems.some((p) => p.includes(first.periodStart))).toBe(false);
  } finally {
    await app.db.pool.query('delete from integrity_retention where dropped_before = $1', [cut]);
  }
});

it('counts a CSV file by service ids as the export guarded them, even ids that start with a quote mark', async () => {
  const rows = [
    ['QXVkaXRFdmVudDox', '2026-11-20T14:00:01.000000Z', "'=a"],
    ['QXVkaXRFdmVudDoy', '2026-11-20T14:00:02.000000Z', "'=a"],
  ];
  const file = Buffer.from(`id,time,serviceId\r\n${rows.map((r) => r.join(',')).join('\r\n')}\r\n`);
  const base = {
    format: 'dpod-audit-export-manifest' as const,
    version: 1 as const,
    generatedAt: new Date().toISOString(),
    request: { format: 'csv' as const, order: 'TIME_ASC' as const, filter: {} },
    file: { events: 2, sha256: createHash('sha256').update(file).digest('hex') },
    wholePeriods: false,
    publicKey: null,
    signature: null,
  };
  const period = { periodStart: '2026-11-20T14:00:00.000Z', complete: false, expired: false, seal: null };
  // `=a` is written `'=a`, and so is `'=a` itself: the manifest's id is guarded the same way before comparing.
  for (const serviceId of ['=a', "'=a"]) {
    const report = await checkManifest(
      { ...base, periods: [{ ...period, serviceId, exported: 2 }] },
      Readable.from([file]),
    );
    expect(report).toMatchObject({ verified: true, unsealed: 1, keyFingerprint: null });
  }
  const short = await checkManifest(
    { ...base, periods: [{ ...period, serviceId: '=a', exported: 3 }] },
    Readable.from([file]),
  );
  expect(short.problems).toEqual(['=a 2026-11-20T14:00:00.000Z: the file holds 2 event(s), the manifest 3']);
});
