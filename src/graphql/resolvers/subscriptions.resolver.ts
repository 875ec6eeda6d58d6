import { Arg, Resolver, Root, Subscription } from 'type-graphql';
import { fetchBatchEvents } from '../audit/audit-page.repository';
import type { AuditEvent, EventPosition } from '../audit/audit-event';
import { normalizeFilter, type AuditFilter, type AuditFilterInput } from '../audit/audit-filter';
import { refreshLoaders, type Context } from '../context';
import { apiError, badInput } from '../errors';
import { fetchFindingIfMatches } from '../findings/findings.repository';
import { FeedEnded, type Notice, type NoticeFeed } from '../subscriptions/notice-hub';
import { AuditEventFilterInput } from '../types/audit-event-filter.input';
import { AuditEventType } from '../types/audit-event.type';
import { FindingFilterInput, FindingType, type FindingRecord } from '../types/finding.types';

/** Events of one committed batch read per statement while delivering it (memory stays flat for any batch). */
const DELIVERY_PAGE = 500;

interface SubscribeData<A> {
  args: A;
  context: Context;
}

/**
 * Opens the hub's feed of `kind` (listening once this resolves: whatever commits later is delivered), or refuses the
 * subscription before it starts.
 */
async function openFeed(ctx: Context, kind: Notice['kind']): Promise<NoticeFeed> {
  const hub = ctx.deps.notices;
  if (!hub) throw apiError('BAD_REQUEST', 'This server delivers no subscriptions.');
  try {
    return await hub.subscribe(kind, (reason) => ctx.onCutOff?.(reason.code, reason.message));
  } catch (err) {
    if (err instanceof FeedEnded) throw apiError(err.code, err.message);
    throw err;
  }
}

/**
 * The delivery generator, ended from outside at once: a generator's own `return()` waits until it next yields, and an
 * idle subscription waits for a notice that may never come. Closing the feed first ends that wait.
 */
function closable<T>(gen: AsyncGenerator<T>, feed: NoticeFeed): AsyncGenerator<T> {
  return {
    next: () => gen.next(),
    return: (value) => {
      feed.close();
      return gen.return(value);
    },
    throw: (err) => {
      feed.close();
      return gen.throw(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** A feed as an iterator that ends with the API's error codes. */
async function* notices(ctx: Context, feed: NoticeFeed): AsyncGenerator<Notice> {
  try {
    for await (const notice of feed) {
      // The scope was checked when the subscription opened; it stops with the token.
      if (ctx.auth.expiresAt != null && Date.now() >= ctx.auth.expiresAt)
        throw apiError('TOKEN_EXPIRED', 'The token this subscription was opened with has expired: subscribe again.');
      yield notice;
    }
  } catch (err) {
    if (err instanceof FeedEnded) throw apiError(err.code, err.message);
    throw err;
  } finally {
    feed.close();
  }
}

async function eventsAdded(
  ctx: Context,
  input: AuditFilterInput | null | undefined,
): Promise<AsyncGenerator<AuditEvent>> {
  const filter = normalizeFilter(input, ctx.auth);
  const feed = await openFeed(ctx, 'events');
  return closable(deliverEvents(ctx, filter, feed), feed);
}

async function* deliverEvents(ctx: Context, filter: AuditFilter, feed: NoticeFeed): AsyncGenerator<AuditEvent> {
  // The primary: a notice arrives at commit, before a replica may have the rows.
  const db = ctx.deps.db;
  for await (const notice of notices(ctx, feed)) {
    if (notice.kind !== 'events' || filter.empty) continue;
    let after: EventPosition | null = null;
    for (;;) {
      const page = await fetchBatchEvents(db, filter, notice.batch, after, DELIVERY_PAGE);
      for (const event of page) {
        refreshLoaders(ctx);
        yield event;
      }
      if (page.length < DELIVERY_PAGE) break;
      after = page[page.length - 1]!.position;
    }
  }
}

async function findingRaised(
  ctx: Context,
  filter: FindingFilterInput | null | undefined,
): Promise<AsyncGenerator<FindingRecord>> {
  if (filter?.from && filter.to && filter.from.getTime() >= filter.to.getTime())
    throw badInput('filter.from must be before filter.to', 'filter.from');
  const feed = await openFeed(ctx, 'finding');
  return closable(deliverFindings(ctx, filter, feed), feed);
}

async function* deliverFindings(
  ctx: Context,
  filter: FindingFilterInput | null | undefined,
  feed: NoticeFeed,
): AsyncGenerator<FindingRecord> {
  for await (const notice of notices(ctx, feed)) {
    if (notice.kind !== 'finding') continue;
    const finding = await fetchFindingIfMatches(ctx.deps.db, notice.id, filter, ctx.auth);
    if (!finding) continue;
    refreshLoaders(ctx);
    yield finding;
  }
}

/** Subscription.auditEventsAdded and Subscription.findingRaised: live delivery (docs/live-delivery.md). */
@Resolver()
export class SubscriptionsResolver {
  @Subscription(() => AuditEventType, {
    description:
      "Every audit event stored from now on that matches the filter (confined to the caller's services), once each, " +
      'as its batch commits. A subscriber that falls SUBSCRIPTION_QUEUE_LIMIT batches behind is cut off ' +
      '(SUBSCRIBER_TOO_SLOW); catch up with auditEvents.',
    subscribe: ({ args, context }: SubscribeData<{ filter?: AuditFilterInput | null }>) =>
      eventsAdded(context, args.filter),
  })
  auditEventsAdded(
    @Root() event: AuditEvent,
    @Arg('filter', () => AuditEventFilterInput, {
      nullable: true,
      description: 'Which events; omitted = every event the caller may see.',
    })
    filter: AuditEventFilterInput | null,
  ): AuditEvent {
    void filter; // read by `subscribe`; declared here for the schema
    return event;
  }

  @Subscription(() => FindingType, {
    description:
      "Every finding raised from now on that matches the filter (confined to the caller's services), once each, " +
      'as its detection pass commits.',
    subscribe: ({ args, context }: SubscribeData<{ filter?: FindingFilterInput | null }>) =>
      findingRaised(context, args.filter),
  })
  findingRaised(
    @Root() finding: FindingRecord,
    @Arg('filter', () => FindingFilterInput, {
      nullable: true,
      description: 'Which findings; omitted = every finding the caller may see.',
    })
    filter: FindingFilterInput | null,
  ): FindingRecord {
    void filter; // read by `subscribe`; declared here for the schema
    return finding;
  }
}
