import type { Kysely } from 'kysely';
import type { Config } from '../config';
import type { Database } from '../db/database';
import type { Logger } from '../logger';
import type { AuthScope } from './auth-scope';
import { DpodDirectory, type DpodReader } from './live/dpod-directory';
import { TtlCache } from './live/ttl-cache';
import type { UnconfirmedAnswer } from './live/unconfirmed-answer';
import { createLoaders, type Loaders } from './loaders';
import type { NoticeHub } from './subscriptions/notice-hub';
import { ExportLinkSigner } from '../export/export-link';

export type { AuthScope } from './auth-scope';
export { UNRESTRICTED } from './auth-scope';

/** Process-wide dependencies of the GraphQL layer, built once by the composition root. */
export interface GraphqlDeps {
  db: Kysely<Database>;
  /** A read replica for queries (default: `db`). */
  readDb?: Kysely<Database>;
  /** The DPoD platform client; null when none is configured (live fields then report DPOD_UNAVAILABLE). */
  dpod: DpodReader | null;
  /** The shared TTL cache of live DPoD data (stale-if-error, coalesced misses). */
  liveCache: TtlCache;
  config: Config;
  logger?: Logger;
  /** Live delivery (subscriptions); null where the process serves none (tests, the schema command). */
  notices?: NoticeHub | null;
  /** Signs the download links of `exportLink` (checked by GET /export). */
  exportLinks: ExportLinkSigner;
}

/** The typed context of one GraphQL request. */
export interface Context {
  requestId: string;
  auth: AuthScope;
  deps: GraphqlDeps;
  loaders: Loaders;
  /** Live DPoD lookups through the shared cache; null without a DPoD client. */
  directory: DpodDirectory | null;
  /** SQL statements issued for this request (tests and metrics read it). */
  sqlQueries: number;
  /** Non-null live fields that answered without DPoD (reported as DPOD_UNAVAILABLE errors). */
  unconfirmedAnswers: UnconfirmedAnswer[];
  /** A subscription's transport, told when live delivery cuts the subscriber off (it then closes). */
  onCutOff?: (code: string, message: string) => void;
}

/** Builds the process-wide {@link GraphqlDeps}; the TTL comes from `config.dpod.cacheTtlSeconds`. */
export function createGraphqlDeps(init: {
  db: Kysely<Database>;
  readDb?: Kysely<Database>;
  dpod: DpodReader | null;
  config: Config;
  logger?: Logger;
  /** An existing cache to share (default: a new one). */
  liveCache?: TtlCache;
  notices?: NoticeHub | null;
  exportLinks?: ExportLinkSigner;
}): GraphqlDeps {
  return {
    db: init.db,
    readDb: init.readDb,
    dpod: init.dpod,
    config: init.config,
    logger: init.logger,
    notices: init.notices ?? null,
    exportLinks: init.exportLinks ?? new ExportLinkSigner(init.config.limits.exportLinkSecret),
    liveCache: init.liveCache ?? new TtlCache({ ttlSeconds: init.config.dpod.cacheTtlSeconds }),
  };
}

/** Creates the context of one request with fresh DataLoaders. */
export function createContext(deps: GraphqlDeps, init: { requestId: string; auth: AuthScope }): Context {
  const directory = deps.dpod ? new DpodDirectory(deps.dpod, deps.liveCache) : null;
  const context: Context = {
    requestId: init.requestId,
    auth: init.auth,
    deps,
    directory,
    sqlQueries: 0,
    unconfirmedAnswers: [],
    loaders: undefined as unknown as Loaders,
  };
  refreshLoaders(context);
  return context;
}

/**
 * Gives the context new, empty DataLoaders: a subscription lives for hours with one context, and resolves each
 * message it delivers with fresh ones (current data, and no cache growing for as long as it runs).
 */
export function refreshLoaders(context: Context): void {
  const { deps, requestId } = context;
  context.loaders = createLoaders({
    db: deps.readDb ?? deps.db,
    directory: context.directory,
    onQuery: () => {
      context.sqlQueries++;
    },
    onDpodError: (err) => deps.logger?.warn({ err, requestId }, 'DPoD lookup failed'),
  });
}
