import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import type { Database } from '../db/database';
import type { DpodBinding, DpodService } from '../dpod/types';
import type { AuditEvent, EventPosition } from './audit/audit-event';
import type { AggregateNeed, AggregateValue } from './audit/audit-aggregate';
import { computeAggregates, fetchClientHomes } from './audit/audit-aggregate.repository';
import { filterKey, type AuditFilter } from './audit/audit-filter';
import type { EventProjection } from './audit/event-projection';
import { fetchEventPages, fetchEventsByPosition, type EventPage } from './audit/audit-page.repository';
import type { EventOrder, ParentDimension } from './audit/audit-scope';
import { dpodUnavailable } from './errors';
import {
  fetchFindingCounts,
  fetchFindingPages,
  type FindingPage,
  type FindingScope,
} from './findings/findings.repository';
import type { DpodDirectory } from './live/dpod-directory';
import type { PageRequest } from './pagination/page-request';

/** A request for one page of a connection. */
export interface PageLoadKey {
  filter: AuditFilter;
  dimension: ParentDimension | null;
  parent: string | null;
  order: EventOrder;
  request: PageRequest<EventPosition>;
  projection: EventProjection;
}

/** A request for one part of one connection's aggregate. */
export interface AggregateLoadKey {
  filter: AuditFilter;
  dimension: ParentDimension | null;
  parent: string | null;
  need: AggregateNeed;
}

/** A request for one page of a findings connection (or, without `request`, its total). */
export interface FindingLoadKey {
  scope: FindingScope;
  parent: string | null;
}

/** A request for one page of a findings connection. */
export interface FindingPageLoadKey extends FindingLoadKey {
  request: PageRequest<EventPosition>;
}

/** The per-request DataLoaders: every field touching PostgreSQL or DPoD goes through one of these. */
export interface Loaders {
  eventPage: DataLoader<PageLoadKey, EventPage, string>;
  aggregate: DataLoader<AggregateLoadKey, AggregateValue, string>;
  eventByPosition: DataLoader<EventPosition, AuditEvent | null, string>;
  findingPage: DataLoader<FindingPageLoadKey, FindingPage, string>;
  findingCount: DataLoader<FindingLoadKey, number, string>;
  clientHome: DataLoader<string, string | null>;
  service: DataLoader<string, DpodService | null>;
  bindings: DataLoader<string, DpodBinding[] | null>;
}

/** What the loaders need. */
export interface LoaderDeps {
  db: Kysely<Database>;
  directory: DpodDirectory | null;
  /** Called once per SQL statement issued (the context counts them). */
  onQuery: () => void;
  /** Called with the underlying cause when DPoD fails. */
  onDpodError?: (err: unknown) => void;
}

function groupBy<K, G>(
  keys: readonly K[],
  groupOf: (k: K) => string,
  make: (k: K) => G,
): Map<string, { group: G; members: { index: number; key: K }[] }> {
  const groups = new Map<string, { group: G; members: { index: number; key: K }[] }>();
  keys.forEach((key, index) => {
    const g = groupOf(key);
    const entry = groups.get(g) ?? { group: make(key), members: [] };
    entry.members.push({ index, key });
    groups.set(g, entry);
  });
  return groups;
}

/** The batch's answer for `parent`, or an Error (DataLoader's contract) when the batch function left it out. */
function answerOf<T, P>(parents: readonly P[], answers: readonly T[], parent: P): T | Error {
  return answers[parents.indexOf(parent)] ?? new Error(`no batch answer for parent ${String(parent)}`);
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

/** Creates fresh loaders for one GraphQL request. */
export function createLoaders(deps: LoaderDeps): Loaders {
  const { db, directory, onQuery } = deps;

  const eventPage = new DataLoader<PageLoadKey, EventPage, string>(
    async (keys) => {
      const out: (EventPage | Error)[] = new Array<EventPage | Error>(keys.length);
      const groups = groupBy(
        keys,
        (k) => `${filterKey(k.filter)}|${k.dimension}|${k.order}|${k.projection}|${JSON.stringify(k.request)}`,
        (k) => k,
      );
      await Promise.all(
        [...groups.values()].map(async ({ group, members }) => {
          const parents = unique(members.map((m) => m.key.parent));
          if (group.filter.empty) {
            for (const m of members) out[m.index] = { events: [], hasNextPage: false, hasPreviousPage: false };
            return;
          }
          onQuery();
          const pages = await fetchEventPages(
            db,
            group.filter,
            group.dimension,
            parents,
            group.order,
            group.request,
            group.projection,
          );
          for (const m of members) out[m.index] = answerOf(parents, pages, m.key.parent);
        }),
      );
      return out;
    },
    {
      cacheKeyFn: (k) =>
        `${filterKey(k.filter)}|${k.dimension}|${k.parent}|${k.order}|${k.projection}|${JSON.stringify(k.request)}`,
    },
  );

  const aggregate = new DataLoader<AggregateLoadKey, AggregateValue, string>(
    async (keys) => {
      const out: (AggregateValue | Error)[] = new Array<AggregateValue | Error>(keys.length);
      const groups = groupBy(
        keys,
        (k) => `${filterKey(k.filter)}|${k.dimension}`,
        (k) => k,
      );
      await Promise.all(
        [...groups.values()].map(async ({ group, members }) => {
          const parents = unique(members.map((m) => m.key.parent));
          const needs = unique(members.map((m) => JSON.stringify(m.key.need))).map(
            (n) => JSON.parse(n) as AggregateNeed,
          );
          if (!group.filter.empty) onQuery();
          const values = await computeAggregates(db, group.filter, group.dimension, parents, needs);
          for (const m of members) out[m.index] = answerOf(parents, values, m.key.parent);
        }),
      );
      return out;
    },
    { cacheKeyFn: (k) => `${filterKey(k.filter)}|${k.dimension}|${k.parent}|${JSON.stringify(k.need)}` },
  );

  const eventByPosition = new DataLoader<EventPosition, AuditEvent | null, string>(
    async (positions) => {
      onQuery();
      return fetchEventsByPosition(db, positions);
    },
    { cacheKeyFn: (p) => `${p.timeUs}:${p.id}` },
  );

  // Findings connections of the same scope and page arguments (Service.findings under services) share one statement.
  const findingPage = new DataLoader<FindingPageLoadKey, FindingPage, string>(
    async (keys) => {
      const out: (FindingPage | Error)[] = new Array<FindingPage | Error>(keys.length);
      const groups = groupBy(
        keys,
        (k) => `${JSON.stringify(k.scope)}|${JSON.stringify(k.request)}`,
        (k) => k,
      );
      await Promise.all(
        [...groups.values()].map(async ({ group, members }) => {
          const parents = unique(members.map((m) => m.key.parent));
          onQuery();
          const pages = await fetchFindingPages(db, group.scope, parents, group.request);
          for (const m of members) out[m.index] = answerOf(parents, pages, m.key.parent);
        }),
      );
      return out;
    },
    { cacheKeyFn: (k) => `${JSON.stringify(k.scope)}|${k.parent}|${JSON.stringify(k.request)}` },
  );

  const findingCount = new DataLoader<FindingLoadKey, number, string>(
    async (keys) => {
      const out: (number | Error)[] = new Array<number | Error>(keys.length);
      const groups = groupBy(
        keys,
        (k) => JSON.stringify(k.scope),
        (k) => k,
      );
      await Promise.all(
        [...groups.values()].map(async ({ group, members }) => {
          const parents = unique(members.map((m) => m.key.parent));
          onQuery();
          const counts = await fetchFindingCounts(db, group.scope, parents);
          for (const m of members) out[m.index] = answerOf(parents, counts, m.key.parent);
        }),
      );
      return out;
    },
    { cacheKeyFn: (k) => `${JSON.stringify(k.scope)}|${k.parent}` },
  );

  const clientHome = new DataLoader<string, string | null>(async (ids) => {
    onQuery();
    return fetchClientHomes(db, ids);
  });

  const live =
    <T>(fetch: (dir: DpodDirectory, id: string) => Promise<T>) =>
    async (ids: readonly string[]): Promise<(T | Error)[]> => {
      if (!directory) return ids.map(() => dpodUnavailable('the DPoD platform API is not configured'));
      return Promise.all(
        ids.map((id) =>
          fetch(directory, id).catch((err: unknown) => {
            deps.onDpodError?.(err);
            return dpodUnavailable(describeDpodFailure(err));
          }),
        ),
      );
    };

  return {
    eventPage,
    aggregate,
    eventByPosition,
    findingPage,
    findingCount,
    clientHome,
    service: new DataLoader(live((dir, id) => dir.service(id))),
    bindings: new DataLoader(live((dir, id) => dir.bindings(id))),
  };
}

/** A short, safe reason for a DPoD failure (no URLs or secrets). */
export function describeDpodFailure(err: unknown): string {
  const name = err instanceof Error ? err.name : 'Error';
  const status = (err as { status?: unknown })?.status;
  if (typeof status === 'number') return `DPoD answered HTTP ${status}`;
  if (/timeout/i.test(name) || /timeout/i.test(String((err as Error)?.message))) return 'DPoD did not answer in time';
  return 'DPoD could not be reached';
}
