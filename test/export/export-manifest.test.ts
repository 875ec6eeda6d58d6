import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    expect(checkManifest(manifest, file, trusted)).toMatchObject({ verified: true, problems: [], sealed: 6 });
  }
});

it('names what does not hold: a changed file, a changed manifest, another key, events deleted after sealing', async () => {
  const { file, manifest } = await exportWithManifest({ from, to, serviceIds: [serviceA] });
  const changed = Buffer.from(file);
  changed[changed.length - 10] = changed[changed.length - 10] === 0x41 ? 0x42 : 0x41;
  expect(checkManifest(manifest, changed, trusted).problems.join('\n')).toMatch(/the file was changed/);
  const inflated = { ...manifest, file: { ...manifest.file, events: manifest.file.events + 1 } };
  expect(checkManifest(inflated, file, trusted).problems.join('\n')).toMatch(
    /the manifest's signature does not verify/,
  );
  const other = createPublicKey(parseSigningKey(privatePem(generateKeyPairSync('ed25519'))).publicKey.pem);
  const wrong = checkManifest(manifest, file, other);
  expect(wrong.verified).toBe(false);
  expect(wrong.problems[0]).toMatch(/not the trusted key/);

  // Someone with write access deletes one event of a sealed hour: the next export of that hour cannot match its seal.
  const victim = manifest.periods[2]!;
  await app.db.pool.query(
    `delete from audit_events where id = (select id from audit_events where service_id = $1 and time >= $2 and time < $3 limit 1)`,
    [serviceA, victim.periodStart, new Date(Date.parse(victim.periodStart) + HOUR).toISOString()],
  );
  const after = await exportWithManifest({ from, to, serviceIds: [serviceA] });
  const report = checkManifest(after.manifest, after.file, trusted);
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
