import pg from 'pg';
import { EVENTS_CHANNEL, FINDINGS_CHANNEL, type EventsNotice } from '../../db/channels';
import type { Logger } from '../../logger';

/** What a subscriber hears: a committed batch of events, or a raised finding. */
export type Notice = { kind: 'events'; batch: EventsNotice } | { kind: 'finding'; id: string };

/** Why a subscriber's feed ended before the subscriber ended it. */
export class FeedEnded extends Error {
  constructor(
    readonly code: 'SUBSCRIBER_TOO_SLOW' | 'LIVE_FEED_INTERRUPTED' | 'SHUTTING_DOWN',
    message: string,
  ) {
    super(message);
    this.name = 'FeedEnded';
  }
}

/** One subscriber's queue of notices: bounded, ended by the hub or by the subscriber. */
export interface NoticeFeed extends AsyncIterable<Notice> {
  /** Notices waiting to be read. */
  readonly pending: number;
  /** Ends the feed (the subscriber stopped); idempotent. */
  close(): void;
}

/** Counts for `/metrics` and tests. */
export interface HubStats {
  subscribers: number;
  /** Notices queued over all subscribers right now. */
  queued: number;
  /** The largest single queue right now. */
  largestQueue: number;
  /** Subscribers cut off for falling {@link NoticeHubOptions.queueLimit} notices behind, since start. */
  cutOff: number;
  listening: boolean;
}

export interface NoticeHubOptions {
  /** Connection settings of the primary (NOTIFY does not reach streaming replicas). */
  connection: pg.ClientConfig;
  /** Notices a subscriber may have waiting; one more and its feed ends with SUBSCRIBER_TOO_SLOW. */
  queueLimit: number;
  logger?: Logger;
  /** Pause before reconnecting the listening session (default 1 s, doubling to 30 s). */
  reconnectMs?: number;
}

interface Subscriber {
  kind: Notice['kind'];
  onCutOff?: (reason: FeedEnded) => void;
  queue: Notice[];
  wake: (() => void) | null;
  ended: FeedEnded | null;
  closed: boolean;
}

/**
 * The process's one listening session (`LISTEN` on both channels) and its subscribers. Every subscription of the
 * process hangs off it, so a replica of this service costs one PostgreSQL connection for live delivery whatever its
 * number of subscribers; the session opens with the first subscriber and closes with the last.
 *
 * Hand-written rather than a reconnecting-listener library: what matters here is what happens when the session
 * drops. PostgreSQL does not replay notifications sent while a session was away, so a reconnect that went unnoticed
 * would silently skip events; instead every feed open at that moment ends with LIVE_FEED_INTERRUPTED, and its
 * client resubscribes (and reads what it missed with `auditEvents`, from the last event it got).
 */
export class NoticeHub {
  private readonly subscribers = new Set<Subscriber>();
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private stopped = false;
  private cutOffCount = 0;
  private retryMs: number;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: NoticeHubOptions) {
    this.retryMs = options.reconnectMs ?? 1000;
  }

  stats(): HubStats {
    let queued = 0;
    let largest = 0;
    for (const s of this.subscribers) {
      queued += s.queue.length;
      largest = Math.max(largest, s.queue.length);
    }
    return {
      subscribers: this.subscribers.size,
      queued,
      largestQueue: largest,
      cutOff: this.cutOffCount,
      listening: this.client !== null,
    };
  }

  /**
   * A feed of `kind` notices. Resolves once the session listens, so that everything committed after this returns is
   * heard; rejects when PostgreSQL cannot be reached. `onCutOff` hears at once when the feed is cut off for being too
   * slow (its reader is then stuck and would only see the error when it next reads): the transport closes.
   */
  async subscribe(kind: Notice['kind'], onCutOff?: (reason: FeedEnded) => void): Promise<NoticeFeed> {
    if (this.stopped)
      throw new FeedEnded('SHUTTING_DOWN', 'The server is shutting down; subscribe on another instance.');
    const sub: Subscriber = { kind, onCutOff, queue: [], wake: null, ended: null, closed: false };
    this.subscribers.add(sub);
    try {
      await this.ensureListening();
    } catch (err) {
      this.subscribers.delete(sub);
      this.releaseIfIdle();
      throw err;
    }
    const close = () => {
      if (sub.closed) return;
      sub.closed = true;
      sub.queue.length = 0;
      this.subscribers.delete(sub);
      sub.wake?.();
      this.releaseIfIdle();
    };
    return {
      get pending() {
        return sub.queue.length;
      },
      close,
      [Symbol.asyncIterator]: async function* () {
        try {
          for (;;) {
            while (sub.queue.length > 0) yield sub.queue.shift()!;
            if (sub.ended) throw sub.ended;
            if (sub.closed) return;
            await new Promise<void>((resolve) => (sub.wake = resolve));
            sub.wake = null;
          }
        } finally {
          close();
        }
      },
    };
  }

  /** Ends every feed (SHUTTING_DOWN) and closes the session. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.endAll(new FeedEnded('SHUTTING_DOWN', 'The server is shutting down; subscribe on another instance.'));
    await this.connecting?.catch(() => undefined);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }

  private ensureListening(): Promise<void> {
    if (this.client) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...this.options.connection, application_name: 'dpod-audit-live' });
    client.on('notification', (msg) => this.dispatch(msg.channel, msg.payload ?? ''));
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('the listening session ended')));
    await client.connect();
    await client.query(`listen ${EVENTS_CHANNEL}; listen ${FINDINGS_CHANNEL}`);
    if (this.stopped) {
      await client.end().catch(() => undefined);
      throw new FeedEnded('SHUTTING_DOWN', 'The server is shutting down; subscribe on another instance.');
    }
    this.client = client;
    this.retryMs = this.options.reconnectMs ?? 1000;
    this.releaseIfIdle();
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.client !== client) return;
    this.client = null;
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    if (this.stopped) return;
    this.options.logger?.warn({ err }, 'live delivery: the listening session dropped; open subscriptions are ended');
    this.endAll(
      new FeedEnded(
        'LIVE_FEED_INTERRUPTED',
        'The live feed was interrupted (the database session dropped): subscribe again, and read what you missed with auditEvents from the last event you received.',
      ),
    );
  }

  private dispatch(channel: string, payload: string): void {
    let notice: Notice;
    if (channel === FINDINGS_CHANNEL) notice = { kind: 'finding', id: payload };
    else if (channel === EVENTS_CHANNEL) {
      try {
        notice = { kind: 'events', batch: JSON.parse(payload) as EventsNotice };
      } catch (err) {
        this.options.logger?.warn({ err, payload: payload.slice(0, 200) }, 'live delivery: unreadable notice ignored');
        return;
      }
    } else return;
    for (const sub of this.subscribers) {
      if (sub.kind !== notice.kind || sub.ended) continue;
      if (sub.queue.length >= this.options.queueLimit) {
        // The subscriber reads slower than the store commits: cut it off rather than hold memory for it.
        this.cutOffCount++;
        sub.queue.length = 0;
        sub.ended = new FeedEnded(
          'SUBSCRIBER_TOO_SLOW',
          `The subscriber fell more than ${this.options.queueLimit} committed batches behind and was cut off: read faster, narrow the filter, or catch up with auditEvents.`,
        );
        this.subscribers.delete(sub);
        sub.wake?.();
        sub.onCutOff?.(sub.ended);
        continue;
      }
      sub.queue.push(notice);
      sub.wake?.();
    }
  }

  private endAll(reason: FeedEnded): void {
    for (const sub of this.subscribers) {
      sub.ended = reason;
      sub.queue.length = 0;
      sub.wake?.();
    }
    this.subscribers.clear();
  }

  /** Closes the session when nobody listens any more. */
  private releaseIfIdle(): void {
    if (this.subscribers.size > 0 || !this.client || this.connecting) return;
    const c = this.client;
    this.client = null;
    c.removeAllListeners('notification');
    c.end().catch(() => undefined);
  }
}
