import type { Kysely } from 'kysely';
import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config';
import type { Database } from '../db/database';
import type { ReplicaStatus } from '../db/read-router';
import type { Logger } from '../logger';
import { createApolloServer } from './apollo/apollo-server';
import { createAuthenticator, type AuthScope } from './auth/authenticator';
import { exampleQueries, PLACEHOLDER_IDS, type ExampleIds } from './graphiql/example-queries';
import { loadGraphiqlAssets, renderGraphiqlPage } from './graphiql/graphiql-page';
import { createHttpServer, type HttpServer } from './http/http-server';
import { loadOverview } from './overview/overview-page';
import { readIngestSnapshot } from './metrics/ingest-snapshot';
import { createMetrics, type Metrics } from './metrics/metrics';
import { createReadiness, type DpodProbe } from './http/readiness';
import { readExampleIds } from './graphiql/example-ids';
import { createLiveTransports } from './http/live-transports';
import type { ExportConnect } from '../export/event-export';
import type { SigningKey } from '../integrity/signing-key';
import { createExportHandler } from '../export/export-route';
import { ExportLinkSigner } from '../export/export-link';

/** Options for {@link createGraphqlServer}. */
export interface GraphqlServerOptions<TContext extends { requestId: string }> {
  config: Pick<Config, 'http' | 'auth' | 'limits'>;
  schema: GraphQLSchema;
  createContext: (input: { requestId: string; auth: AuthScope }) => Promise<TContext> | TContext;
  /** The store: readiness, ingest metrics and example ids read it. */
  db: Kysely<Database>;
  /** Connections for the pages of GET/POST /export (a read replica's when configured); without it, no /export. */
  exportConnect?: ExportConnect;
  /** Signs export manifests (INTEGRITY_SIGNING_KEY); absent or null: unsigned. */
  exportSigningKey?: SigningKey | null;
  /** Checks the signed links of `exportLink` (the same signer as the GraphQL context's). */
  exportLinks?: ExportLinkSigner;
  /** Where GraphQL reads stand with the read replica (`DATABASE_READ_URL`), if any: readiness reports it. */
  replica?: () => ReplicaStatus | null;
  logger: Logger;
  /** Metrics to use (default: a fresh registry). */
  metrics?: Metrics;
  dpodProbe?: DpodProbe;
  /** Serve subscriptions on /graphql (graphql-ws and graphql-sse); the context's deps must then carry a notice hub. */
  subscriptions?: boolean;
}

/** The GraphQL HTTP server (Apollo + GraphiQL + health + metrics), not yet listening. */
export interface GraphqlServer {
  metrics: Metrics;
  http: HttpServer;
  /** Starts Apollo and listens on `config.http.port`/`host` (port 0: any free port); resolves with the base URL. */
  start(port?: number, host?: string): Promise<string>;
  /** Drains HTTP (in-flight requests finish) and stops Apollo. */
  stop(): Promise<void>;
}

/** Assembles the HTTP server around a GraphQL schema and a context factory. */
export function createGraphqlServer<TContext extends { requestId: string }>(
  options: GraphqlServerOptions<TContext>,
): GraphqlServer {
  const { config, logger, db } = options;
  const metrics = options.metrics ?? createMetrics({ ingestSnapshot: () => readIngestSnapshot(db) });
  const graphql = createApolloServer<TContext>({
    schema: options.schema,
    limits: config.limits,
    metrics,
    logger,
    fastLane: config.http.fastLane,
  });
  const assets = loadGraphiqlAssets();
  const bearerHint =
    config.auth.mode === 'jwt'
      ? JSON.stringify({ Authorization: 'Bearer <a JWT with scope audit:read>' }, null, 2)
      : '';
  let exampleIds: { at: number; ids: ExampleIds } | null = null;
  const authenticate = createAuthenticator(config.auth);
  const live = options.subscriptions
    ? createLiveTransports({
        schema: options.schema,
        limits: config.limits,
        authenticate,
        // The context is the GraphQL context; the transport only adds its cut-off hook to it.
        createContext: options.createContext,
        logger: logger.child({ component: 'live' }),
      })
    : undefined;
  const http = createHttpServer<TContext>({
    live,
    exportEvents: options.exportConnect
      ? createExportHandler({
          connect: options.exportConnect,
          signingKey: options.exportSigningKey ?? null,
          bodyLimitBytes: config.http.bodyLimitBytes,
          links: options.exportLinks ?? new ExportLinkSigner(config.limits.exportLinkSecret),
        })
      : undefined,
    http: config.http,
    graphql,
    authenticate,
    createContext: options.createContext,
    metrics,
    logger,
    readiness: createReadiness({ db, replica: options.replica, dpodProbe: options.dpodProbe }),
    assets,
    overview: loadOverview(config.auth.mode),
    async graphiqlPage() {
      // The page is served without a token: under AUTH_MODE=jwt it must not name the store's services, clients or keys.
      if (config.auth.mode !== 'none')
        return renderGraphiqlPage({ examples: exampleQueries(PLACEHOLDER_IDS), headers: bearerHint });
      if (!exampleIds || Date.now() - exampleIds.at > 60_000) {
        exampleIds = { at: Date.now(), ids: await readExampleIds(db).catch(() => PLACEHOLDER_IDS) };
      }
      return renderGraphiqlPage({ examples: exampleQueries(exampleIds.ids), headers: bearerHint });
    },
  });
  let started = false;
  return {
    metrics,
    http,
    async start(port = config.http.port, host = config.http.host) {
      await graphql.apollo.start();
      started = true;
      const url = await http.listen(port, host);
      if (config.auth.mode === 'none') {
        logger.warn(
          'AUTH_MODE=none: every caller can read every audit event of every service. Set AUTH_MODE=jwt in production.',
        );
      }
      return url;
    },
    async stop() {
      await http.close();
      if (started) await graphql.apollo.stop();
    },
  };
}
