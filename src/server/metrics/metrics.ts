import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DpodCallRecord } from '../../dpod/types';

/** Counters of the shared live-data cache (the GraphQL layer's `TtlCache.stats`). */
export interface CacheCounts {
  hits: number;
  misses: number;
  staleServed: number;
  coalesced?: number;
  errors?: number;
}

/** Ingest figures read at scrape time (from the database), for the ingest gauges. */
export interface IngestSnapshot {
  /** Seconds between now and the follower's checkpoint (null when nothing was ingested yet). */
  lagSeconds: number | null;
  recordsRead: number;
  inserted: number;
  duplicates: number;
  rejected: number;
  runsByState: Record<string, number>;
}

/** Options for {@link createMetrics}. */
export interface MetricsOptions {
  /** Also collect Node process metrics (default true). */
  processMetrics?: boolean;
  /** Reads the ingest figures when `/metrics` is scraped (default: no ingest series values). */
  ingestSnapshot?: () => Promise<IngestSnapshot>;
  /** Reads the live-data cache counters when `/metrics` is scraped (default: zeros). */
  cacheCounts?: () => CacheCounts;
  /** Reads live delivery's counts when `/metrics` is scraped (default: no values). */
  liveStats?: () => { subscribers: number; queued: number; cutOff: number } | null;
}

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The Prometheus series of one app instance, in their own registry. */
export interface Metrics {
  registry: Registry;
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  graphqlOperationDuration: Histogram<'operation' | 'type'>;
  graphqlErrors: Counter<'code'>;
  /** POST /graphql requests by what the fast lane did: answered, apollo (not for it), held (run; Apollo formats errors). */
  graphqlFastLane: Counter<'outcome'>;
  dpodCalls: Counter<'route' | 'status'>;
  dpodCallDuration: Histogram<'route'>;
  webhookDeliveries: Counter<'outcome'>;
  /** Feeds one DPoD call (the DPoD client's `onCall` hook). */
  recordDpodCall(call: DpodCallRecord): void;
  /** Counts one webhook delivery attempt by outcome (the deliverer's `onOutcome`). */
  recordWebhookDelivery(outcome: 'delivered' | 'retry' | 'failed'): void;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** Creates the metrics of one app instance (a registry of its own, so tests can run several apps). */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'dpod_audit_' });

  const httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  const graphqlOperationDuration = new Histogram({
    name: 'graphql_operation_duration_seconds',
    help: 'GraphQL operation latency by operation name (or "anonymous") and type.',
    labelNames: ['operation', 'type'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  const graphqlErrors = new Counter({
    name: 'graphql_errors_total',
    help: 'GraphQL errors returned to clients, by extensions.code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const graphqlFastLane = new Counter({
    name: 'graphql_fast_lane_requests_total',
    help: 'POST /graphql requests by fast lane outcome: answered (a known query run without Apollo), apollo (left to Apollo), held (run, its errors formatted by Apollo).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const dpodCalls = new Counter({
    name: 'dpod_calls_total',
    help: 'Outgoing DPoD API calls by templated route and status (HTTP status, network_error or timeout).',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  const dpodCallDuration = new Histogram({
    name: 'dpod_call_duration_seconds',
    help: 'Outgoing DPoD API call latency by templated route.',
    labelNames: ['route'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  const webhookDeliveries = new Counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: delivered (2xx), retry (failed, tried again later), failed (the last attempt failed).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const cacheCounts = options.cacheCounts;
  new Counter({
    name: 'dpod_cache_lookups_total',
    help: 'Live DPoD data cache lookups by outcome: hit, miss, stale (served stale after an upstream error), coalesced (joined a pending miss), error.',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      const c = cacheCounts?.();
      this.reset();
      this.inc({ outcome: 'hit' }, c?.hits ?? 0);
      this.inc({ outcome: 'miss' }, c?.misses ?? 0);
      this.inc({ outcome: 'stale' }, c?.staleServed ?? 0);
      this.inc({ outcome: 'coalesced' }, c?.coalesced ?? 0);
      this.inc({ outcome: 'error' }, c?.errors ?? 0);
    },
  });

  const liveStats = options.liveStats;
  new Gauge({
    name: 'dpod_audit_live_subscriptions',
    help: 'Open subscriptions (auditEventsAdded, findingRaised) of this process.',
    registers: [registry],
    collect() {
      this.set(liveStats?.()?.subscribers ?? 0);
    },
  });
  new Gauge({
    name: 'dpod_audit_live_queued_notices',
    help: "Committed batches and findings waiting in subscribers' queues (each bounded by SUBSCRIPTION_QUEUE_LIMIT).",
    registers: [registry],
    collect() {
      this.set(liveStats?.()?.queued ?? 0);
    },
  });
  new Gauge({
    name: 'dpod_audit_live_cut_off_total',
    help: 'Subscribers cut off for falling SUBSCRIPTION_QUEUE_LIMIT batches behind, since the process started.',
    registers: [registry],
    collect() {
      this.set(liveStats?.()?.cutOff ?? 0);
    },
  });

  const snapshot = options.ingestSnapshot;
  let pending: Promise<IngestSnapshot | null> | null = null;
  // One database read per scrape, shared by the ingest series below.
  const readSnapshot = (): Promise<IngestSnapshot | null> => {
    if (!snapshot) return Promise.resolve(null);
    pending ??= snapshot()
      .catch(() => null)
      .finally(() => setTimeout(() => (pending = null), 0));
    return pending;
  };
  new Gauge({
    name: 'ingest_lag_seconds',
    help: 'Seconds between now and the follower checkpoint (how far behind DPoD the store is); -1 before the first ingest.',
    registers: [registry],
    async collect() {
      const s = await readSnapshot();
      this.set(s?.lagSeconds ?? -1);
    },
  });
  new Gauge({
    name: 'ingest_records_total',
    help: 'Audit records handled by all ingest runs, by outcome (read, inserted, duplicate, rejected).',
    labelNames: ['outcome'] as const,
    registers: [registry],
    async collect() {
      const s = await readSnapshot();
      this.set({ outcome: 'read' }, s?.recordsRead ?? 0);
      this.set({ outcome: 'inserted' }, s?.inserted ?? 0);
      this.set({ outcome: 'duplicate' }, s?.duplicates ?? 0);
      this.set({ outcome: 'rejected' }, s?.rejected ?? 0);
    },
  });
  new Gauge({
    name: 'ingest_runs',
    help: 'Ingest runs recorded in the store, by state.',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const s = await readSnapshot();
      for (const state of ['running', 'succeeded', 'failed']) this.set({ state }, s?.runsByState[state] ?? 0);
    },
  });

  return {
    registry,
    httpRequestDuration,
    graphqlOperationDuration,
    graphqlErrors,
    graphqlFastLane,
    dpodCalls,
    dpodCallDuration,
    webhookDeliveries,
    recordWebhookDelivery(outcome) {
      webhookDeliveries.inc({ outcome });
    },
    recordDpodCall(call) {
      dpodCalls.inc({ route: call.route, status: String(call.status) });
      dpodCallDuration.observe({ route: call.route }, call.durationMs / 1000);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
