import type pg from 'pg';
import type { Logger } from '../logger';
import {
  FINDING_RAISED,
  rowToWebhookFinding,
  signatureOf,
  type FindingColumns,
  type WebhookPayload,
} from './webhook-payload';
import { webhookOrigin, type WebhookTarget } from './webhook-target';

/** What became of one attempt: sent (2xx), to be tried again, or given up after the last attempt. */
export type DeliveryOutcome = 'delivered' | 'retry' | 'failed';

/** Options of {@link startWebhookDeliverer}. */
export interface WebhookDelivererOptions {
  /** The configured endpoints (`WEBHOOK_URLS`): rows of other URLs (since removed) are left pending. */
  targets: readonly WebhookTarget[];
  /** Signs every body (`WEBHOOK_SECRET`). */
  secret: string;
  /** Attempts before a delivery is FAILED (`WEBHOOK_MAX_ATTEMPTS`, default 10). */
  maxAttempts?: number;
  /** Per-attempt timeout (`WEBHOOK_TIMEOUT_MS`, default 5000). */
  timeoutMs?: number;
  /** Retry delays: `baseMs` doubled per attempt, at most `maxMs`, +-20% jitter (default 1000 and 600,000). */
  backoff?: { baseMs: number; maxMs: number };
  /** How often due rows are looked for when nothing wakes the loop (default 1000 ms). */
  pollIntervalMs?: number;
  /** Rows claimed (and sent at once) per round (default 20). */
  batchSize?: number;
  /**
   * A claimed row is due again this long after its claim if no outcome was recorded (a crash mid-send): at least
   * once (default `timeoutMs` + 30 s).
   */
  leaseMs?: number;
  logger?: Logger;
  /** Hears each attempt's outcome (the metrics counter). */
  onOutcome?: (outcome: DeliveryOutcome) => void;
  /** Start the polling loop (default true); false leaves only {@link WebhookDeliverer.runOnce}. */
  autoStart?: boolean;
}

/** A running webhook deliverer. */
export interface WebhookDeliverer {
  /** One round now: claims the due rows (at most `batchSize`), sends them, records each outcome; how many it claimed. */
  runOnce(): Promise<number>;
  /** Looks for due rows right away (the follower raised findings). */
  wake(): void;
  /** Stops the loop after the attempts in flight (each bounded by its timeout). */
  stop(): Promise<void>;
}

interface ClaimedRow extends FindingColumns {
  row_id: string;
  delivery_id: string;
  url: string;
  attempts: number;
}

/** The delay before attempt `attempt + 1`: base x 2^(attempt-1), at most max, +-20% jitter. */
export function retryDelayMs(attempt: number, backoff: { baseMs: number; maxMs: number }): number {
  const exp = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.round(Math.min(backoff.maxMs, exp * (0.8 + Math.random() * 0.4)));
}

/**
 * Delivers the webhook outbox (`webhook_deliveries`): claims due PENDING rows with `for update skip locked`,
 * pushing their next attempt a lease ahead in the same statement (two deliverers never send one attempt at once; a
 * deliverer that dies mid-send leaves the row due again after the lease: at least once), POSTs each finding signed,
 * and records the outcome. The retry schedule is the database's `next_attempt_at`, not cockatiel's in-memory retry:
 * a delivery outlives the process that first tried it. Errors (database, network) are logged; the loop goes on.
 */
export function startWebhookDeliverer(pool: pg.Pool, options: WebhookDelivererOptions): WebhookDeliverer {
  const maxAttempts = options.maxAttempts ?? 10;
  const timeoutMs = options.timeoutMs ?? 5000;
  const backoff = options.backoff ?? { baseMs: 1000, maxMs: 600_000 };
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const batchSize = options.batchSize ?? 20;
  const leaseMs = options.leaseMs ?? timeoutMs + 30_000;
  const urls = options.targets.map((t) => t.url);
  const logger = options.logger;
  let stopping = false;
  let current: Promise<number> | null = null;
  let timer: NodeJS.Timeout | null = null;

  async function claim(): Promise<ClaimedRow[]> {
    const { rows } = await pool.query<ClaimedRow>(
      `with due as (
         select id from webhook_deliveries
          where status = 'PENDING' and next_attempt_at <= now() and url = any($1::text[])
          order by next_attempt_at, id
          limit $2
          for update skip locked)
       update webhook_deliveries d
          set attempts = d.attempts + 1, last_attempt_at = now(),
              next_attempt_at = now() + $3::int * interval '1 millisecond'
         from due, findings f
        where d.id = due.id and f.id = d.finding_id
       returning d.id::text as row_id, d.delivery_id::text, d.url, d.attempts, f.id::text, f.rule, f.severity, f.status,
                 f.service_id, f.client_id, f.subject, f.first_seen, f.last_seen, f.count, f.summary, f.raised_at`,
      [urls, batchSize, leaseMs],
    );
    return rows;
  }

  /** POSTs one claimed row; the HTTP status (null without an answer) and what went wrong, if anything. */
  async function send(
    row: ClaimedRow,
  ): Promise<{ ok: boolean; status: number | null; error: string | null; retryAfterMs: number | null }> {
    const payload: WebhookPayload = {
      deliveryId: row.delivery_id,
      event: FINDING_RAISED,
      finding: rowToWebhookFinding(row),
    };
    const body = JSON.stringify(payload);
    try {
      const res = await fetch(row.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'dpod-audit-gateway',
          'X-Dpod-Audit-Delivery': row.delivery_id,
          'X-Dpod-Audit-Event': FINDING_RAISED,
          'X-Dpod-Audit-Signature-256': signatureOf(options.secret, body),
        },
        body,
        // A redirect is an answer that is not a 2xx: a POST is never re-sent elsewhere (nor turned into a GET).
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300)
        return { ok: true, status: res.status, error: null, retryAfterMs: null };
      const retryAfter = Number(res.headers.get('retry-after'));
      return {
        ok: false,
        status: res.status,
        error: `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`,
        retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null,
      };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const error =
        e.name === 'TimeoutError'
          ? `no answer within ${timeoutMs} ms`
          : [e.message, e.cause?.code ?? e.cause?.message].filter(Boolean).join(': ');
      // Logged and stored: the URL's path (it may hold a token) is never repeated.
      const told = error.split(row.url).join(webhookOrigin(row.url)).slice(0, 500);
      return { ok: false, status: null, error: told, retryAfterMs: null };
    }
  }

  /** Records an attempt's outcome, unless the row moved on meanwhile (its lease ran out and another claim took it). */
  async function record(row: ClaimedRow, sent: Awaited<ReturnType<typeof send>>): Promise<DeliveryOutcome> {
    const outcome: DeliveryOutcome = sent.ok ? 'delivered' : row.attempts >= maxAttempts ? 'failed' : 'retry';
    const delay = Math.min(backoff.maxMs, Math.max(retryDelayMs(row.attempts, backoff), sent.retryAfterMs ?? 0));
    await pool.query(
      `update webhook_deliveries
          set status = $3, last_status_code = $4, last_error = $5,
              delivered_at = case when $3 = 'DELIVERED' then now() end,
              next_attempt_at = case when $3 = 'PENDING' then now() + $6::int * interval '1 millisecond' else next_attempt_at end
        where id = $1 and attempts = $2 and status = 'PENDING'`,
      [
        row.row_id,
        row.attempts,
        { delivered: 'DELIVERED', failed: 'FAILED', retry: 'PENDING' }[outcome],
        sent.status,
        sent.error,
        delay,
      ],
    );
    const where = {
      deliveryId: row.delivery_id,
      findingId: row.id,
      endpoint: webhookOrigin(row.url),
      attempt: row.attempts,
    };
    if (outcome === 'failed')
      logger?.warn(
        { ...where, status: sent.status, error: sent.error },
        'webhook delivery failed for good after its last attempt',
      );
    else if (outcome === 'retry')
      logger?.info(
        { ...where, status: sent.status, error: sent.error, retryInMs: delay },
        'webhook delivery attempt failed; will retry',
      );
    else logger?.debug(where, 'webhook delivered');
    options.onOutcome?.(outcome);
    return outcome;
  }

  async function round(): Promise<number> {
    if (urls.length === 0) return 0;
    const rows = await claim();
    const done = await Promise.allSettled(rows.map(async (row) => record(row, await send(row))));
    const failed = done.find((d) => d.status === 'rejected');
    if (failed) throw failed.reason;
    return rows.length;
  }

  function runOnce(): Promise<number> {
    const p = (current ?? Promise.resolve(0)).catch(() => 0).then(() => round());
    current = p;
    return p;
  }

  function schedule(delay: number): void {
    if (stopping) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void (async () => {
        try {
          // A full batch means more may be due: go on at once.
          while (!stopping && (await runOnce()) === batchSize);
        } catch (err) {
          logger?.error({ err }, 'webhook delivery round failed; retrying at the next poll');
        }
        if (!timer) schedule(pollIntervalMs);
      })();
    }, delay);
  }

  if (options.autoStart !== false) schedule(0);

  return {
    runOnce,
    wake() {
      if (!stopping) schedule(0);
    },
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await current?.catch(() => undefined);
    },
  };
}
