import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { DEFAULT_DETECTION_SETTINGS, detectFindings } from '../../src/detect';
import { importFiles } from '../../src/ingest';
import {
  startWebhookDeliverer,
  webhookOutboxHooks,
  type DeliveryOutcome,
  type WebhookDeliverer,
} from '../../src/webhooks';
import { retryDelayMs } from '../../src/webhooks/webhook-deliverer';
import type { WebhookTarget } from '../../src/webhooks/webhook-target';
import { jsonLines, record, writeText } from '../ingest/hand-made';
import { useIngestStore } from '../ingest/store-fixture';
import { runCli } from '../support/cli';
import { anyOf, containing } from '../support/matchers';

// Webhooks against a real store and a real HTTP receiver: findings raised by a detection pass are enqueued in its
// transaction (once, by severity), then POSTed signed, retried with backoff and recorded in webhook_deliveries.

const store = useIngestStore('webhooks-', { truncateEach: true });
const SECRET = 'a-webhook-secret-of-some-length';
const ALICE = 'aaaaaaaa-0000-4000-8000-000000000001';
const DAY = 86_400_000;
const T0 = Date.parse('2026-11-20T12:00:00Z');
const RANGE = { from: new Date(T0 - DAY / 2), to: new Date(T0 + DAY / 2) };
const FAST = { baseMs: 20, maxMs: 200 };

let seq = 0;
function ev(at: number, e: { action?: string; status?: string; role?: string; ip?: string } = {}) {
  return record({
    time: new Date(at).toISOString(),
    actorID: ALICE,
    action: e.action ?? 'LUNA_SIGN',
    status: e.status ?? 'LUNA_RET_OK',
    traceID: `w${seq++}`,
    meta: JSON.stringify({ clientip: e.ip ?? '10.0.0.1', hsmid: '1', ouids: '2', partid: '3', role: e.role ?? 'CO' }),
  });
}

/** Stores a burst of wrong PINs (HIGH), a zeroize (CRITICAL) and a new address of a known client (MEDIUM). */
async function loadIncidents(): Promise<void> {
  const events = [ev(T0 + 60_000, { action: 'LUNA_PARTITION_ZEROIZE', role: 'PO' })];
  for (let i = 0; i < 6; i++)
    events.push(ev(T0 + i * 1000, { action: 'LUNA_LOGIN', status: 'LUNA_RET_UM_PIN_INCORRECT' }));
  for (let d = 10; d >= 1; d--) events.push(ev(T0 - d * DAY));
  events.push(ev(T0 + 120_000, { ip: '192.168.5.7' }));
  await load(events);
}

async function load(events: Record<string, unknown>[]): Promise<void> {
  const path = writeText(join(store.dir, `e-${seq++}.jsonl`), jsonLines(events));
  const [summary] = await importFiles({ db: store.t.db, pool: store.t.pool }, [path], { leaves: false });
  expect(summary).toMatchObject({ state: 'succeeded', rejected: 0 });
}

interface Delivery {
  delivery_id: string;
  finding_id: string;
  url: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  severity: string;
}

async function deliveries(): Promise<Delivery[]> {
  const { rows } = await store.t.pool.query<Delivery>(
    `select d.delivery_id::text, d.finding_id::text, d.url, d.status, d.attempts, d.last_status_code, d.last_error,
            d.delivered_at, f.severity
       from webhook_deliveries d join findings f on f.id = d.finding_id order by d.url, f.id`,
  );
  return rows;
}

/** Polls until `check` holds (generous deadline: the machine may be busy), then returns its last value. */
async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean, deadlineMs = 20_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const v = await read();
    if (check(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local receiver answering each request with the next status of `statuses` (the last one repeats); 0: no answer. */
async function receiver(statuses: number[]): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = statuses[Math.min(received.length - 1, statuses.length - 1)]!;
      if (status === 0) return; // never answers
      res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, server };
}

const servers: Server[] = [];
const deliverers: WebhookDeliverer[] = [];
afterEach(async () => {
  await Promise.all(deliverers.splice(0).map((d) => d.stop()));
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    }),
  );
});

function deliverer(targets: WebhookTarget[], options: Partial<Parameters<typeof startWebhookDeliverer>[1]> = {}) {
  const d = startWebhookDeliverer(store.t.pool, {
    targets,
    secret: SECRET,
    backoff: FAST,
    pollIntervalMs: 20,
    ...options,
  });
  deliverers.push(d);
  return d;
}

/** Verifies a signature header as a receiver would: HMAC-SHA256 of the raw body, compared in constant time. */
function verifies(body: string, header: string | string[] | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
  const given = Buffer.from(String(header));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('the webhook outbox', () => {
  const every: WebhookTarget = { url: 'https://chat.example/x', minSeverity: 'LOW' };
  const urgent: WebhookTarget = { url: 'https://siem.example/hook', minSeverity: 'HIGH' };

  it('enqueues each raised finding once per URL whose minimum severity it meets, and nothing on a rerun', async () => {
    await loadIncidents();
    const hooks = webhookOutboxHooks([every, urgent]);
    expect(await detectFindings(store.t.pool, RANGE, DEFAULT_DETECTION_SETTINGS, undefined, hooks)).toMatchObject({
      raised: 3,
    });
    const first = await deliveries();
    expect(first.map((d) => [d.url, d.severity, d.status, d.attempts])).toEqual([
      [every.url, 'HIGH', 'PENDING', 0],
      [every.url, 'CRITICAL', 'PENDING', 0],
      [every.url, 'MEDIUM', 'PENDING', 0],
      [urgent.url, 'HIGH', 'PENDING', 0],
      [urgent.url, 'CRITICAL', 'PENDING', 0],
    ]);
    expect(new Set(first.map((d) => d.delivery_id)).size).toBe(5);
    // The same range again, and an overlapping one: nothing raised, nothing enqueued, the same delivery ids.
    expect(await detectFindings(store.t.pool, RANGE, DEFAULT_DETECTION_SETTINGS, undefined, hooks)).toMatchObject({
      raised: 0,
    });
    const shifted = { from: new Date(T0 - DAY / 4), to: new Date(T0 + DAY) };
    await detectFindings(store.t.pool, shifted, DEFAULT_DETECTION_SETTINGS, undefined, hooks);
    expect(await deliveries()).toEqual(first);
  });

  it('enqueues nothing for a detection pass that rolls back', async () => {
    await loadIncidents();
    const outbox = webhookOutboxHooks([every]);
    let enqueuedInside = 0;
    await expect(
      detectFindings(store.t.pool, RANGE, DEFAULT_DETECTION_SETTINGS, undefined, {
        async onRaised(client, ids) {
          await outbox.onRaised!(client, ids);
          const { rows } = await client.query<{ n: number }>('select count(*)::int as n from webhook_deliveries');
          enqueuedInside = rows[0]!.n;
          throw new Error('the pass fails after enqueuing');
        },
      }),
    ).rejects.toThrow('the pass fails after enqueuing');
    expect(enqueuedInside).toBe(3);
    const { rows } = await store.t.pool.query<{ findings: number; deliveries: number }>(
      `select (select count(*)::int from findings) as findings, (select count(*)::int from webhook_deliveries) as deliveries`,
    );
    expect(rows[0]).toEqual({ findings: 0, deliveries: 0 });
  });
});

describe('the retry schedule', () => {
  it('doubles from the base with +-20% jitter, never past the cap', () => {
    const backoff = { baseMs: 1000, maxMs: 600_000 };
    for (let attempt = 1; attempt <= 15; attempt++) {
      const nominal = Math.min(600_000, 1000 * 2 ** (attempt - 1));
      for (let i = 0; i < 20; i++) {
        const d = retryDelayMs(attempt, backoff);
        expect(d).toBeGreaterThanOrEqual(Math.floor(nominal * 0.8));
        expect(d).toBeLessThanOrEqual(Math.min(600_000, Math.ceil(nominal * 1.2)));
      }
    }
  });
});

describe('dpod-audit detect', () => {
  it('enqueues the findings it raises for WEBHOOK_URLS, and none with --no-webhooks', async () => {
    await loadIncidents();
    const env = {
      DATABASE_URL: store.t.url,
      WEBHOOK_URLS: 'https://chat.example/x,https://siem.example/hook>=HIGH',
      WEBHOOK_SECRET: SECRET,
    };
    const range = ['--from', RANGE.from.toISOString(), '--to', RANGE.to.toISOString()];
    const quiet = await runCli(['detect', ...range, '--no-webhooks'], env);
    expect({ code: quiet.code, stderr: quiet.stderr }).toEqual({ code: 0, stderr: '' });
    expect(quiet.stdout).toContain('3 finding(s) raised');
    expect(await deliveries()).toEqual([]);

    await store.t.pool.query('delete from findings');
    const loud = await runCli(['detect', ...range], env);
    expect({ code: loud.code, stderr: loud.stderr }).toEqual({ code: 0, stderr: '' });
    expect((await deliveries()).map((d) => [d.url, d.severity, d.status])).toEqual([
      ['https://chat.example/x', 'HIGH', 'PENDING'],
      ['https://chat.example/x', 'CRITICAL', 'PENDING'],
      ['https://chat.example/x', 'MEDIUM', 'PENDING'],
      ['https://siem.example/hook', 'HIGH', 'PENDING'],
      ['https://siem.example/hook', 'CRITICAL', 'PENDING'],
    ]);
  });
});

describe('the webhook deliverer', () => {
  const highOnly = (url: string): WebhookTarget => ({ url, minSeverity: 'HIGH' });
  const settings = { ...DEFAULT_DETECTION_SETTINGS, rules: ['PIN_FAILURE_BURST' as const] };

  it('POSTs the finding signed with the secret, under one delivery id, until a 2xx: two 500s, then DELIVERED after 3 attempts', async () => {
    await loadIncidents();
    const hook = await receiver([500, 500, 200]);
    await detectFindings(store.t.pool, RANGE, settings, undefined, webhookOutboxHooks([highOnly(hook.url)]));
    const outcomes: DeliveryOutcome[] = [];
    deliverer([highOnly(hook.url)], { onOutcome: (o) => outcomes.push(o) });
    const [row] = await eventually(deliveries, (d) => d[0]?.status === 'DELIVERED');
    expect(row).toMatchObject({ status: 'DELIVERED', attempts: 3, last_status_code: 200, last_error: null });
    expect(row!.delivered_at).toBeInstanceOf(Date);
    expect(outcomes).toEqual(['retry', 'retry', 'delivered']);

    expect(hook.received).toHaveLength(3);
    for (const { headers, body } of hook.received) {
      expect(headers).toMatchObject({
        'content-type': 'application/json',
        'x-dpod-audit-delivery': row!.delivery_id,
        'x-dpod-audit-event': 'finding.raised',
      });
      expect(verifies(body, headers['x-dpod-audit-signature-256'])).toBe(true);
      // One byte changed, or another secret: the signature no longer holds.
      expect(verifies(body.replace('"count":6', '"count":7'), headers['x-dpod-audit-signature-256'])).toBe(false);
      expect(headers['x-dpod-audit-signature-256']).not.toBe(
        `sha256=${createHmac('sha256', 'another-secret-entirely').update(body).digest('hex')}`,
      );
    }
    const { rows } = await store.t.pool.query<{ raised_at: Date }>('select raised_at from findings');
    expect(JSON.parse(hook.received[0]!.body)).toEqual({
      deliveryId: row!.delivery_id,
      event: 'finding.raised',
      finding: {
        id: row!.finding_id,
        rule: 'PIN_FAILURE_BURST',
        severity: 'HIGH',
        status: 'OPEN',
        serviceId: anyOf(String),
        clientId: ALICE,
        subject: null,
        firstSeen: new Date(T0).toISOString(),
        lastSeen: new Date(T0 + 5000).toISOString(),
        count: 6,
        summary: containing('6'),
        raisedAt: rows[0]!.raised_at.toISOString(),
      },
    });
  });

  it('marks a delivery FAILED after the last attempt, with its status and a warning, and sends it no more', async () => {
    await loadIncidents();
    const hook = await receiver([503]);
    await detectFindings(store.t.pool, RANGE, settings, undefined, webhookOutboxHooks([highOnly(hook.url)]));
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) },
    );
    const d = deliverer([highOnly(hook.url)], { maxAttempts: 4, logger });
    const [row] = await eventually(deliveries, (r) => r[0]?.status === 'FAILED');
    expect(row).toMatchObject({ status: 'FAILED', attempts: 4, last_status_code: 503, delivered_at: null });
    expect(row!.last_error).toMatch(/^HTTP 503/);
    expect(hook.received).toHaveLength(4);
    expect(new Set(hook.received.map((r) => r.headers['x-dpod-audit-delivery']))).toEqual(new Set([row!.delivery_id]));
    const failed = lines.filter((l) => l.level === 40);
    expect(failed).toEqual([
      expect.objectContaining({
        msg: 'webhook delivery failed for good after its last attempt',
        deliveryId: row!.delivery_id,
        endpoint: new URL(hook.url).origin,
        attempt: 4,
        status: 503,
      }),
    ]);
    await d.stop();
    expect(await d.runOnce()).toBe(0);
    expect(hook.received).toHaveLength(4);
  });

  it('records a receiver that never answers, and one that refuses connections, as failed attempts', async () => {
    await loadIncidents();
    const silent = await receiver([0]);
    const closed = await receiver([200]);
    const closedUrl = closed.url;
    await new Promise((r) => closed.server.close(r));
    const targets = [highOnly(silent.url), highOnly(closedUrl)];
    await detectFindings(store.t.pool, RANGE, settings, undefined, webhookOutboxHooks(targets));
    deliverer(targets, { maxAttempts: 2, timeoutMs: 200 });
    const rows = await eventually(deliveries, (r) => r.length === 2 && r.every((x) => x.status === 'FAILED'));
    const byUrl = Object.fromEntries(rows.map((r) => [r.url, r]));
    expect(byUrl[silent.url]).toMatchObject({
      status: 'FAILED',
      attempts: 2,
      last_status_code: null,
      last_error: 'no answer within 200 ms',
    });
    expect(byUrl[closedUrl]).toMatchObject({ status: 'FAILED', attempts: 2, last_status_code: null });
    expect(byUrl[closedUrl]!.last_error).toMatch(/ECONNREFUSED/);
  });

  it('logs a database error and goes on delivering once the database answers again', async () => {
    await loadIncidents();
    const hook = await receiver([200]);
    await detectFindings(store.t.pool, RANGE, settings, undefined, webhookOutboxHooks([highOnly(hook.url)]));
    await store.t.pool.query('alter table webhook_deliveries rename to webhook_deliveries_away');
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) },
    );
    try {
      deliverer([highOnly(hook.url)], { logger });
      await eventually(
        () => Promise.resolve(lines.filter((l) => l.level === 50).length),
        (n) => n >= 2,
      );
    } finally {
      await store.t.pool.query('alter table webhook_deliveries_away rename to webhook_deliveries');
    }
    expect(lines.find((l) => l.level === 50)).toMatchObject({
      msg: 'webhook delivery round failed; retrying at the next poll',
      err: containing({ message: containing('webhook_deliveries') }),
    });
    const [row] = await eventually(deliveries, (r) => r[0]?.status === 'DELIVERED');
    expect(row).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    expect(hook.received).toHaveLength(1);
  });

  it('sends each attempt once when two deliverers claim at the same time', async () => {
    await loadIncidents();
    const hooks = await Promise.all([receiver([200]), receiver([200]), receiver([200])]);
    const targets = hooks.map((h) => ({ url: h.url, minSeverity: 'LOW' as const }));
    await detectFindings(store.t.pool, RANGE, DEFAULT_DETECTION_SETTINGS, undefined, webhookOutboxHooks(targets));
    const a = deliverer(targets, { autoStart: false, batchSize: 4 });
    const b = deliverer(targets, { autoStart: false, batchSize: 4 });
    const claimed = await Promise.all([a.runOnce(), b.runOnce(), a.runOnce(), b.runOnce(), a.runOnce()]);
    expect(claimed.reduce((x, y) => x + y, 0)).toBe(9);
    const rows = await deliveries();
    expect(rows.map((r) => [r.status, r.attempts])).toEqual(Array.from({ length: 9 }, () => ['DELIVERED', 1]));
    const sent = hooks.flatMap((h) => h.received.map((r) => String(r.headers['x-dpod-audit-delivery'])));
    expect(sent.sort()).toEqual(rows.map((r) => r.delivery_id).sort());
  });

  it('does not send to a URL no longer configured, and is woken at once', async () => {
    await loadIncidents();
    const hook = await receiver([200]);
    const gone = await receiver([200]);
    await detectFindings(
      store.t.pool,
      RANGE,
      settings,
      undefined,
      webhookOutboxHooks([highOnly(hook.url), highOnly(gone.url)]),
    );
    // A long poll: only wake() makes it look again.
    const d = deliverer([highOnly(hook.url)], { pollIntervalMs: 600_000 });
    await eventually(deliveries, (r) => r.some((x) => x.status === 'DELIVERED'));
    // A login, then a new burst of wrong PINs: a second finding.
    const later = T0 + 5 * 3_600_000;
    const burst = [ev(later, { action: 'LUNA_LOGIN' })];
    for (let i = 1; i <= 5; i++)
      burst.push(ev(later + i * 1000, { action: 'LUNA_LOGIN', status: 'LUNA_RET_UM_PIN_INCORRECT' }));
    await load(burst);
    await detectFindings(store.t.pool, RANGE, settings, undefined, webhookOutboxHooks([highOnly(hook.url)]));
    d.wake();
    const rows = await eventually(deliveries, (r) => r.filter((x) => x.status === 'DELIVERED').length === 2);
    expect(rows.map((r) => [r.url === hook.url ? 'kept' : 'removed', r.status]).sort()).toEqual([
      ['kept', 'DELIVERED'],
      ['kept', 'DELIVERED'],
      ['removed', 'PENDING'],
    ]);
    expect(gone.received).toHaveLength(0);
  });
});
