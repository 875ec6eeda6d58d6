import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DETECTION_SETTINGS, detectFindings } from '../../src/detect';
import { composeSupergraph } from '../../src/graphql/federation/compose';
import { buildGraphqlSchema, printSchemaSdl } from '../../src/graphql/schema';
import { importFiles } from '../../src/ingest';
import { jsonLines, record, writeText } from '../ingest/hand-made';
import { eventually, subscribeSse, subscribeWs } from '../server/support/live-clients';
import { startSeededApp, type SeededApp } from '../server/support/seeded-app';

// Hive Gateway (@graphql-hive/gateway, its CLI as a child process) serves the composed supergraph and reaches this
// subgraph's subscriptions over WebSocket; clients subscribe to the gateway over SSE and over WebSocket.

let seeded: SeededApp;
let dir: string;
let gateway: ChildProcess;
let gatewayUrl: string;
let output = '';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

beforeAll(async () => {
  seeded = await startSeededApp({ services: 2, clientsPerService: 3, eventsPerDay: 100, days: 1 });
  dir = await mkdtemp(join(tmpdir(), 'dpod-hive-'));
  const composed = composeSupergraph([
    { name: 'audit', url: `${seeded.url}/graphql`, sdl: printSchemaSdl(await buildGraphqlSchema()) },
  ]);
  if (!composed.ok) throw new Error(composed.errors.join('\n'));
  await writeFile(join(dir, 'supergraph.graphql'), composed.supergraphSdl);
  await writeFile(
    join(dir, 'gateway.config.mjs'),
    `export const gatewayConfig = {
  supergraph: './supergraph.graphql',
  polling: undefined,
  transportEntries: { '*.http': { options: { subscriptions: { kind: 'ws', location: '/graphql' } } } },
};
`,
  );
  const port = await freePort();
  gatewayUrl = `http://127.0.0.1:${port}`;
  gateway = spawn(
    process.execPath,
    [
      join(__dirname, '../../node_modules/@graphql-hive/gateway/dist/bin.js'),
      'supergraph',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
    ],
    { cwd: dir, env: { ...process.env, NODE_ENV: 'test' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  gateway.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  gateway.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(
    async () => (await fetch(`${gatewayUrl}/readiness`).catch(() => null))?.ok === true,
    60_000,
    'Hive Gateway to be ready',
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${output.slice(-3000)}`);
  });
}, 120_000);

afterAll(async () => {
  if (gateway && gateway.exitCode === null) {
    const exited = new Promise((r) => gateway.once('exit', r));
    gateway.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000).unref())]);
    gateway.kill('SIGKILL');
  }
  await seeded?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('delivers auditEventsAdded and findingRaised through Hive Gateway, over SSE and WebSocket', async () => {
  const luna = seeded.sim.tenant.listedServices().filter((s) => s.hasAuditData);
  const service = luna[0]!.id;
  const client = luna[0]!.clients[0]!.id;
  const EVENTS = `subscription($f: AuditEventFilter) { auditEventsAdded(filter: $f) { id action service { id } } }`;
  const FINDINGS = `subscription { findingRaised { rule count service { id } } }`;
  const subs = {
    eventsSse: subscribeSse<{ id: string; action: string }>(gatewayUrl, EVENTS, { f: { serviceIds: [service] } }),
    eventsWs: subscribeWs<{ id: string; action: string }>(gatewayUrl, EVENTS, { f: { serviceIds: [service] } }),
    findingsSse: subscribeSse<{ rule: string; count: number }>(gatewayUrl, FINDINGS, {}),
    findingsWs: subscribeWs<{ rule: string; count: number }>(gatewayUrl, FINDINGS, {}),
  };
  // The gateway opens one upstream subscription per client subscription.
  await eventually(
    async () => {
      const text = await (await fetch(`${seeded.url}/metrics`)).text();
      return /^dpod_audit_live_subscriptions 4$/m.test(text);
    },
    30_000,
    `the gateway's four upstream subscriptions\n${output.slice(-2000)}`,
  );
  const start = new Date(seeded.sim.tenant.now().getTime() + 3_600_000);
  const at = (ms: number) => new Date(start.getTime() + ms).toISOString().replace('T', ' ').replace('Z', ' UTC');
  const records = Array.from({ length: 6 }, (_, i) =>
    record({
      time: at(i * 5_000),
      resourceID: service,
      actorID: client,
      traceID: `hive-${i}`,
      action: 'LUNA_LOGIN',
      status: 'LUNA_RET_UM_PIN_INCORRECT',
    }),
  );
  const file = writeText(join(dir, `${randomUUID()}.jsonl`), jsonLines(records));
  await importFiles({ db: seeded.db.db, pool: seeded.db.pool }, [file], { progressBar: false });
  await detectFindings(
    seeded.db.pool,
    { from: start, to: new Date(start.getTime() + 3_600_000) },
    DEFAULT_DETECTION_SETTINGS,
  );
  await eventually(
    () =>
      subs.eventsSse.items.length >= 6 &&
      subs.eventsWs.items.length >= 6 &&
      subs.findingsSse.items.length >= 1 &&
      subs.findingsWs.items.length >= 1,
    30_000,
    `deliveries through the gateway\n${JSON.stringify(subs)}\n${output.slice(-2000)}`,
  );
  await new Promise((r) => setTimeout(r, 500));
  for (const s of [subs.eventsSse, subs.eventsWs]) {
    expect(s.items).toHaveLength(6);
    expect(new Set(s.items.map((e) => e.id)).size).toBe(6);
    expect(s.items.every((e) => e.action === 'LUNA_LOGIN')).toBe(true);
  }
  for (const s of [subs.findingsSse, subs.findingsWs])
    expect(s.items).toEqual([{ rule: 'PIN_FAILURE_BURST', count: 6, service: { id: service } }]);
  for (const s of Object.values(subs)) expect(s.errors).toEqual([]);
  for (const s of Object.values(subs)) await s.dispose();
}, 90_000);
