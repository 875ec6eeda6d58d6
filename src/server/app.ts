import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config';
import { openStore } from '../bootstrap/open-store';
import { createShutdownStack } from '../bootstrap/shutdown-stack';
import type { DatabaseHandle } from '../db/connection';
import { assertReachable } from '../db/connection-failure';
import { createDpodClient, type DpodClient, type DpodClientHooks } from '../dpod';
import { dpodClientDirectory } from '../detect';
import { createContext, createGraphqlDeps, type Context } from '../graphql/context';
import { buildGraphqlSchema } from '../graphql/schema';
import { startFollower, type FollowerOptions } from '../ingest';
import { createLogger, type Logger } from '../logger';
import { ReadRouter } from '../db/read-router';
import { createGraphqlServer } from './graphql-server';
import { readIngestSnapshot } from './metrics/ingest-snapshot';
import { createMetrics, type Metrics } from './metrics/metrics';
import type { CheckResult } from './http/readiness';
import { NoticeHub } from '../graphql/subscriptions/notice-hub';
import { startFollowerWebhooks } from '../webhooks';

/** How long past `STATEMENT_TIMEOUT_MS` a GraphQL statement may wait for an answer before its connection is dropped. */
export const SILENT_CONNECTION_MARGIN_MS = 2000;

/** Replaceable parts of {@link createApp} (tests, the demo). */
export interface AppOverrides {
  logger?: Logger;
  /** PostgreSQL to use (default: `config.databaseUrl`, else an embedded PostgreSQL started here). */
  databaseUrl?: string;
  /** DPoD connection settings (default: `config.dpod`); the demo points them at its simulator. */
  dpod?: { apiUrl: string; tokenUrl: string; clientId: string; clientSecret: string };
  /** The schema to serve (default: `buildGraphqlSchema()`). */
  schema?: GraphQLSchema;
  /** Run the ingest follower in this process (default false; `serve --ingest` and `demo` turn it on). */
  follow?: boolean;
  /** Follower options over those from config (interval, overlap, retention). */
  follower?: Partial<FollowerOptions>;
  /** Apply pending migrations at start (default true); a database a newer version migrated is used as it is, with a warning. */
  migrate?: boolean;
}

/** The whole server process: store, pools, DPoD client, GraphQL server, optional follower. */
export interface App {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Available after `prepare()`. */
  readonly database: DatabaseHandle;
  /** Pool for ingestion (no statement timeout); available after `prepare()`. */
  readonly ingestDatabase: DatabaseHandle;
  readonly dpod: DpodClient | null;
  /** Locates the store, opens the pools and migrates; `start()` calls it when needed. */
  prepare(): Promise<void>;
  /** Prepares, starts the follower (when asked) and listens; resolves with the base URL. */
  start(): Promise<string>;
  /** Graceful shutdown: drains HTTP, stops the follower after its batch, closes pools and the embedded store. */
  stop(): Promise<void>;
}

/** Builds the process from config: the composition root (nothing runs until `prepare`/`start`). */
export function createApp(config: Config, overrides: AppOverrides = {}): App {
  const logger = overrides.logger ?? createLogger(config.logLevel, {}, config.logFormat);
  const stack = createShutdownStack(logger);
  let database: DatabaseHandle | null = null;
  let ingestDatabase: DatabaseHandle | null = null;
  let readDatabase: DatabaseHandle | null = null;
  let readRouter: ReadRouter | null = null;
  let prepared: Promise<void> | null = null;
  let stopping: Promise<void> | null = null;
  const metrics = createMetrics({
    ingestSnapshot: () => readIngestSnapshot(requireDb().db),
    cacheCounts: () => graphqlDeps?.liveCache.stats ?? { hits: 0, misses: 0, staleServed: 0 },
    liveStats: () => notices?.stats() ?? null,
  });
  const hooks: DpodClientHooks = { onCall: (call) => metrics.recordDpodCall(call), ...overrides.dpod };
  const dpod = overrides.dpod || config.dpod.apiUrl ? createDpodClient(config, hooks) : null;
  // Live lookups answer interactive requests: fail fast (a few seconds, two retries) and let the TTL cache serve
  // stale data, instead of the ingest client's patient one-minute retry deadline.
  const liveDpod = dpod
    ? createDpodClient(config, { ...hooks, timeoutMs: 4000, deadlineMs: 6000, maxRetries: 2 })
    : null;
  let graphqlDeps: ReturnType<typeof createGraphqlDeps> | null = null;
  let notices: NoticeHub | null = null;

  function requireDb(): DatabaseHandle {
    if (!database) throw new Error('the app is not prepared: call prepare() or start() first');
    return database;
  }

  function requireIngestDb(): DatabaseHandle {
    if (!ingestDatabase) throw new Error('the app is not prepared: call prepare() or start() first');
    return ingestDatabase;
  }

  async function prepare(): Promise<void> {
    // GraphQL pools: PostgreSQL cancels a statement at STATEMENT_TIMEOUT_MS; one with no answer 2 s past that is on a
    // connection gone silent, which is then dropped from the pool (and /readyz recovers with a new one).
    const graphqlPool = {
      poolSize: config.dbPoolSize,
      statementTimeoutMs: config.limits.statementTimeoutMs,
      queryTimeoutMs: config.limits.statementTimeoutMs + SILENT_CONNECTION_MARGIN_MS,
      connectTimeoutMs: config.http.requestTimeoutMs,
    };
    // A newer version may already have migrated the database (a rolling upgrade, or a rollback): start without migrating.
    const opened = await openStore(config, stack, {
      logger,
      databaseUrl: overrides.databaseUrl,
      primary: { poolSize: 3, applicationName: 'dpod-audit-ingest' },
      migrate: (overrides.migrate ?? true) ? 'unless-ahead' : 'none',
      aheadNote: 'starting without migrating',
    });
    ingestDatabase = opened.primary;
    database = opened.openPool({ ...graphqlPool, applicationName: 'dpod-audit-graphql' });
    if (config.databaseReadUrl) {
      // GraphQL reads (loaders, ingestRuns) go to the replica; ingest and migrations stay on the primary; /readyz checks both.
      const url = config.databaseReadUrl;
      readDatabase = opened.openPool({ ...graphqlPool, url, applicationName: 'dpod-audit-graphql-read' });
      await assertReachable(readDatabase.db, { variable: 'DATABASE_READ_URL', url });
      // While the replica is unreachable or lags more than DATABASE_READ_MAX_LAG_SECONDS, reads go to the primary.
      const router = new ReadRouter({
        primary: database.pool,
        replica: readDatabase.pool,
        maxLagSeconds: config.databaseReadMaxLagSeconds,
        logger,
      });
      await router.start();
      stack.add('read router stop', () => Promise.resolve(router.stop()));
      readRouter = router;
    }
  }

  return {
    config,
    logger,
    metrics,
    get database() {
      return requireDb();
    },
    get ingestDatabase() {
      return requireIngestDb();
    },
    dpod,
    prepare() {
      prepared ??= prepare();
      return prepared;
    },
    async start() {
      await this.prepare();
      const db = requireDb();
      const readDb = readRouter?.kysely();
      const router = readRouter;
      // Live delivery listens on the primary (NOTIFY does not reach streaming replicas), on its own session.
      notices = new NoticeHub({
        connection: requireIngestDb().pool.options,
        queueLimit: config.limits.subscriptionQueueLimit,
        logger: logger.child({ component: 'live' }),
      });
      const hub = notices;
      graphqlDeps = createGraphqlDeps({ db: db.db, readDb, dpod: liveDpod, config, logger, notices: hub });
      const deps = graphqlDeps;
      const schema = overrides.schema ?? (await buildGraphqlSchema());
      const server = createGraphqlServer<Context>({
        config,
        schema,
        createContext: ({ requestId, auth }) => createContext(deps, { requestId, auth }),
        db: db.db,
        // Export pages run COPY on a connection of their own: the replica's while reads go there.
        exportConnect: router ? () => router.connectForRead() : () => db.pool.connect(),
        exportSigningKey: config.integrity.signingKey,
        exportLinks: deps.exportLinks,
        replica: readRouter ? () => readRouter?.current() ?? null : undefined,
        logger,
        metrics,
        dpodProbe: dpod ? () => probeDpod(dpod) : undefined,
        subscriptions: true,
      });
      if (overrides.follow) {
        if (!dpod)
          throw new Error(
            'the follower needs DPoD: set DPOD_API_URL, DPOD_TOKEN_URL, DPOD_CLIENT_ID and DPOD_CLIENT_SECRET',
          );
        const ingest = requireIngestDb();
        // New findings go to WEBHOOK_URLS from the process that raises them; stopped after the follower.
        const webhooks = startFollowerWebhooks(ingest.pool, config.webhooks, {
          logger: logger.child({ component: 'webhooks' }),
          onOutcome: (outcome) => metrics.recordWebhookDelivery(outcome),
        });
        if (webhooks) stack.add('webhook deliverer stop', () => webhooks.stop());
        const follower = startFollower(
          { db: ingest.db, pool: ingest.pool, dpod, logger: logger.child({ component: 'follower' }) },
          {
            intervalSeconds: config.ingest.intervalSeconds,
            overlapSeconds: config.ingest.overlapSeconds,
            retentionDays: config.ingest.retentionDays,
            progressBar: false,
            seal: config.integrity,
            detect: config.detection,
            ...webhooks?.follower,
            clientDirectory: dpodClientDirectory(dpod),
            ...overrides.follower,
          },
        );
        stack.add('follower stop', () => follower.stop());
      }
      // Stopped in reverse: the HTTP server drains first, then the follower finishes its batch, then the pools.
      stack.add('HTTP drain', () => server.stop());
      // Stopped before the drain: open subscriptions end with SHUTTING_DOWN, then their sockets close.
      stack.add('live delivery stop', () => hub.stop());
      return server.start(config.http.port, config.http.host);
    },
    stop() {
      stopping ??= (async () => {
        if (prepared) await prepared.catch(() => undefined);
        await stack.stop();
      })();
      return stopping;
    },
  };
}

/** A cheap DPoD call (first page of one service) with a short deadline, for `/readyz`. */
async function probeDpod(dpod: DpodClient): Promise<CheckResult> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      dpod.listServicesPage({ page: 0, size: 1 }),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 3 s')), 3_000))),
    ]);
    return { ok: true, latencyMs: Date.now() - started };
  } catch (err) {
    return { ok: false, detail: `DPoD unreachable: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    clearTimeout(timer);
  }
}
