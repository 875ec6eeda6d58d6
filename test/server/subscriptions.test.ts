import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { DEFAULT_DETECTION_SETTINGS, detectFindings } from '../../src/detect';
import { importFiles } from '../../src/ingest';
import { jsonLines, record, writeText } from '../ingest/hand-made';
import { bearer as signedBearer } from './support/bearer';
import { dataOf, gql } from './support/http';
import { eventually, subscribeSse, subscribeWs } from './support/live-clients';
import { startSeededApp, type SeededApp } from './support/seeded-app';

const SECRET = 'live-delivery-test-secret-long-enough-for-hs256';
const ISSUER = 'https://idp.live.test/';
const AUDIENCE = 'dpod-audit-gateway';
const JWT_ENV = { AUTH_MODE: 'jwt', JWT_SECRET: SECRET, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE };
const bearer = async (claims: Record<string, unknown>) =>
  (await signedBearer({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, subject: 'live-test' }, claims))
    .authorization!;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dpod-live-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** DPoD's own time format, `ms` after `base`. */
const dpodTime = (base: Date, ms: number) =>
  new Date(base.getTime() + ms).toISOString().replace('T', ' ').replace('Z', ' UTC');

async function importRecords(app: SeededApp, records: unknown[], batchSize: number): Promise<string> {
  const file = writeText(join(dir, `${randomUUID()}.jsonl`), jsonLines(records));
  await importFiles({ db: app.db.db, pool: app.db.pool }, [file], { progressBar: false, batchSize });
  return file;
}

async function metric(app: SeededApp, name: string): Promise<number> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

interface LiveEvent {
  id: string;
  action: string;
  service: { id: string };
}
const EVENTS = `subscription($filter: AuditEventFilter) { auditEventsAdded(filter: $filter) { id action service { id } } }`;
const FINDINGS = `subscription($filter: FindingFilter) { findingRaised(filter: $filter) { id rule count service { id } client { id } } }`;

describe('live delivery over graphql-ws and graphql-sse', () => {
  let app: SeededApp;
  let serviceA: string;
  let serviceB: string;
  let clientA: string;
  let clientB: string;
  let asAll: string;
  let asA: string;
  let asB: string;
  let base: Date;

  beforeAll(async () => {
    app = await startSeededApp({ env: JWT_ENV });
    const luna = app.sim.tenant.listedServices().filter((s) => s.hasAuditData);
    [serviceA, serviceB] = [luna[0]!.id, luna[1]!.id];
    clientA = luna[0]!.clients[0]!.id;
    clientB = luna[1]!.clients[0]!.id;
    asAll = await bearer({ scope: 'audit:read' });
    asA = await bearer({ scope: 'audit:read', services: [serviceA] });
    asB = await bearer({ scope: 'audit:read', services: [serviceB] });
    base = new Date(app.sim.tenant.now().getTime() + 3_600_000);
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
  });

  it('refuses a subscription without a valid token, and queries on the live transports', async () => {
    const anonymous = subscribeWs<LiveEvent>(app.url, EVENTS, {});
    await eventually(() => anonymous.done, 10_000, 'the unauthenticated socket to close');
    expect(anonymous.items).toEqual([]);
    expect(anonymous.errors.map((e) => e.message).join(' ')).toMatch(/UNAUTHENTICATED/);
    await anonymous.dispose();
    const sse = (query: string, authorization?: string) =>
      fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          ...(authorization ? { authorization } : {}),
        },
        body: JSON.stringify({ query }),
      });
    const unauthenticated = await sse('subscription { findingRaised { id } }');
    expect(unauthenticated.status).toBe(401);
    const query = await sse('{ __typename }', asAll);
    expect(query.status).toBe(400);
    expect(await query.json()).toEqual({
      errors: [expect.objectContaining({ extensions: { code: 'BAD_REQUEST' } })],
    });
    const invalid = await sse('subscription { auditEventsAdded { nope } }', asAll);
    expect(invalid.status).toBe(400);
    expect(JSON.stringify(await invalid.json())).toContain('GRAPHQL_VALIDATION_FAILED');
  });

  it('delivers every inserted event of a filter exactly once, over both transports, confined to the token', async () => {
    const subs = {
      wsA: subscribeWs<LiveEvent>(app.url, EVENTS, { filter: { serviceIds: [serviceA] } }, asAll),
      sseA: subscribeSse<LiveEvent>(app.url, EVENTS, { filter: { serviceIds: [serviceA] } }, asAll),
      // No filter, but a token for A only: the scope applies to every message.
      wsScoped: subscribeWs<LiveEvent>(app.url, EVENTS, {}, asA),
      sseKeys: subscribeSse<LiveEvent>(app.url, EVENTS, { filter: { actions: ['LUNA_GENERATE_KEY'] } }, asAll),
    };
    await eventually(async () => (await metric(app, 'dpod_audit_live_subscriptions')) === 4, 20_000, 'subscribers');
    const made = (service: string, client: string, n: number, offset: number) =>
      Array.from({ length: n }, (_, i) =>
        record({
          time: dpodTime(base, offset + i * 10),
          resourceID: service,
          actorID: client,
          traceID: `live-${offset}-${i}`,
          action: i % 8 === 0 ? 'LUNA_GENERATE_KEY' : 'LUNA_SIGN',
        }),
      );
    // Interleaved services, in batches of 250 (six commits), then 700 of A in one batch (delivered in pages).
    const first = [...made(serviceA, clientA, 800, 0), ...made(serviceB, clientB, 500, 5)];
    const firstFile = await importRecords(app, first, 250);
    await importRecords(app, made(serviceA, clientA, 700, 20_000), 5_000);

    // The truth: the store's own pages for the same filter.
    const ids = async (filter: Record<string, unknown>, token: string) => {
      const out: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page: { nodes: { id: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } = dataOf(
          await gql<{
            auditEvents: { nodes: { id: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
          }>(
            app.url,
            `query($f: AuditEventFilter, $after: String) { auditEvents(filter: $f, first: 500, after: $after, orderBy: TIME_ASC) { nodes { id } pageInfo { hasNextPage endCursor } } }`,
            { f: { ...filter, from: base.toISOString() }, after },
            { authorization: token },
          ),
        ).auditEvents;
        out.push(...page.nodes.map((n) => n.id));
        if (!page.pageInfo.hasNextPage) return out.sort();
        after = page.pageInfo.endCursor;
      }
    };
    const ofA = await ids({ serviceIds: [serviceA] }, asAll);
    const keys = await ids({ actions: ['LUNA_GENERATE_KEY'] }, asAll);
    expect(ofA).toHaveLength(1500);
    expect(keys).toHaveLength(100 + 63 + 88);
    await eventually(
      () =>
        subs.wsA.items.length >= 1500 &&
        subs.sseA.items.length >= 1500 &&
        subs.wsScoped.items.length >= 1500 &&
        subs.sseKeys.items.length >= keys.length,
      30_000,
      'every event to arrive',
    );
    // A re-import stores nothing new, so nothing more is delivered.
    await importRecords(app, first, 250);
    await new Promise((r) => setTimeout(r, 1000));
    const sorted = (s: { items: LiveEvent[] }) => s.items.map((e) => e.id).sort();
    expect(sorted(subs.wsA)).toEqual(ofA);
    expect(sorted(subs.sseA)).toEqual(ofA);
    expect(sorted(subs.wsScoped)).toEqual(ofA);
    expect(sorted(subs.sseKeys)).toEqual(keys);
    expect(new Set(subs.wsScoped.items.map((e) => e.service.id))).toEqual(new Set([serviceA]));
    for (const s of Object.values(subs)) expect(s.errors).toEqual([]);
    for (const s of Object.values(subs)) await s.dispose();
    await eventually(async () => (await metric(app, 'dpod_audit_live_subscriptions')) === 0, 10_000, 'unsubscribed');
    expect(firstFile).toBeTruthy();
  }, 90_000);

  it('delivers a raised finding once to the subscribers that may see it', async () => {
    const subs = {
      ws: subscribeWs<{ id: string; rule: string; count: number; service: { id: string } }>(app.url, FINDINGS, {}, asA),
      sse: subscribeSse<{ id: string; rule: string; count: number; service: { id: string } }>(
        app.url,
        FINDINGS,
        { filter: { rules: ['PIN_FAILURE_BURST'] } },
        asAll,
      ),
      otherService: subscribeWs<{ id: string }>(app.url, FINDINGS, {}, asB),
      otherRule: subscribeSse<{ id: string }>(app.url, FINDINGS, { filter: { rules: ['VOLUME_SPIKE'] } }, asAll),
    };
    await eventually(async () => (await metric(app, 'dpod_audit_live_subscriptions')) === 4, 20_000, 'subscribers');
    const start = new Date(base.getTime() + 86_400_000);
    const burst = Array.from({ length: 6 }, (_, i) =>
      record({
        time: dpodTime(start, i * 5_000),
        resourceID: serviceA,
        actorID: clientA,
        traceID: `pin-${i}`,
        action: 'LUNA_LOGIN',
        status: 'LUNA_RET_UM_PIN_INCORRECT',
      }),
    );
    await importRecords(app, burst, 5_000);
    const range = { from: start, to: new Date(start.getTime() + 3_600_000) };
    const outcome = await detectFindings(app.db.pool, range, DEFAULT_DETECTION_SETTINGS);
    expect(outcome.byRule.PIN_FAILURE_BURST.raised).toBe(1);
    await eventually(() => subs.ws.items.length >= 1 && subs.sse.items.length >= 1, 20_000, 'the finding');
    // A second pass over the same range raises nothing, so nothing more is sent.
    await detectFindings(app.db.pool, range, DEFAULT_DETECTION_SETTINGS);
    await new Promise((r) => setTimeout(r, 1000));
    for (const s of [subs.ws, subs.sse]) {
      expect(s.items).toHaveLength(1);
      expect(s.items[0]).toMatchObject({ rule: 'PIN_FAILURE_BURST', count: 6, service: { id: serviceA } });
    }
    expect(subs.otherService.items).toEqual([]);
    expect(subs.otherRule.items).toEqual([]);
    for (const s of Object.values(subs)) await s.dispose();
  }, 60_000);
});

describe('a slow subscriber', () => {
  let app: SeededApp;
  let serviceA: string;
  let clientA: string;

  beforeAll(async () => {
    app = await startSeededApp({ env: { SUBSCRIPTION_QUEUE_LIMIT: '3' } });
    const luna = app.sim.tenant.listedServices().filter((s) => s.hasAuditData);
    serviceA = luna[0]!.id;
    clientA = luna[0]!.clients[0]!.id;
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
  });

  it('is cut off with an error and a close once it falls the queue limit behind; memory stays bounded', async () => {
    const socket = new WebSocket(`${app.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const messages: { type: string; payload?: unknown }[] = [];
    let closeCode: number | null = null;
    socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as { type: string }));
    socket.on('close', (code: number) => (closeCode = code));
    await new Promise((r) => socket.once('open', r));
    socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await eventually(() => messages.some((m) => m.type === 'connection_ack'), 10_000, 'connection_ack');
    // Thirty copies of each event's raw meta: every message is a few kilobytes.
    const fields = Array.from({ length: 30 }, (_, i) => `m${i}: meta { raw }`).join(' ');
    socket.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query: `subscription { auditEventsAdded { id ${fields} } }` },
      }),
    );
    await eventually(async () => (await metric(app, 'dpod_audit_live_subscriptions')) === 1, 10_000, 'subscriber');
    // The client stops reading: the kernel's buffers fill, then the server's sends stall.
    (socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const base = new Date(app.sim.tenant.now().getTime() + 3_600_000);
    let largest = 0;
    for (let b = 0; b < 40 && (await metric(app, 'dpod_audit_live_cut_off_total')) === 0; b++) {
      const batch = Array.from({ length: 500 }, (_, i) =>
        record({ time: dpodTime(base, b * 10_000 + i), resourceID: serviceA, actorID: clientA, traceID: `s${b}-${i}` }),
      );
      await importRecords(app, batch, 500);
      largest = Math.max(largest, await metric(app, 'dpod_audit_live_queued_notices'));
    }
    expect(await metric(app, 'dpod_audit_live_cut_off_total')).toBe(1);
    expect(largest).toBeLessThanOrEqual(3);
    (socket as unknown as { _socket: { resume(): void } })._socket.resume();
    await eventually(() => closeCode !== null, 20_000, 'the close');
    expect(closeCode).toBe(4413);
    const last = messages.filter((m) => m.type === 'error').pop();
    expect(JSON.stringify(last?.payload)).toContain('SUBSCRIBER_TOO_SLOW');
    expect(await metric(app, 'dpod_audit_live_subscriptions')).toBe(0);
  }, 120_000);
});
