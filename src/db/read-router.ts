import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import type { Logger } from '../logger';
import { forOneUse } from './connection';
import type { Database } from './database';

/** What the router knows of the replica, as `/readyz` reports it. */
export interface ReplicaStatus {
  /** Whether reads go to the replica now. */
  serving: boolean;
  /** Seconds the replica's replay is behind the primary (0 when caught up); null when not known. */
  lagSeconds: number | null;
  /** Why reads go to the primary, in words; null while the replica serves. */
  detail: string | null;
}

/** Options of {@link ReadRouter}. */
export interface ReadRouterOptions {
  primary: pg.Pool;
  replica: pg.Pool;
  /** Past this lag, reads go to the primary (`DATABASE_READ_MAX_LAG_SECONDS`). */
  maxLagSeconds: number;
  /** How often the lag is measured (default 1000 ms). */
  pollMs?: number;
  /** A measurement not answered within this long counts the replica unreachable (default 2000 ms). */
  deadlineMs?: number;
  logger?: Logger;
}

/** SQLSTATE PostgreSQL cancels a standby's query with when replay needs what it holds ("conflict with recovery"). */
const RECOVERY_CONFLICT = '40001';

/** Errors after which a read on the replica is run again on the primary: a recovery conflict, or a lost replica. */
export function isReplicaFailure(err: unknown): boolean {
  // Not `instanceof Error`: a socket error comes from Node's own realm, which a VM context (jest) does not share.
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof message !== 'string') return false;
  if (code === RECOVERY_CONFLICT && /conflict with recovery/.test(message)) return true;
  // The replica shutting down or refusing (57P01 admin shutdown, 57P03 cannot connect now), or the socket gone.
  if (code === '57P01' || code === '57P02' || code === '57P03') return true;
  return /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ETIMEDOUT|Connection terminated|timeout exceeded when trying to connect/.test(
    message,
  );
}

/**
 * Sends GraphQL reads to a streaming replica while it is reachable and its replay lags the primary by at most
 * `maxLagSeconds`, and to the primary otherwise; a read the replica fails (a recovery conflict cancels it, or the
 * replica goes away) runs once more on the primary instead of failing. Measures the lag every `pollMs`:
 * the primary's current WAL position against the replica's replayed one, and, when the replica is behind, the
 * time since the last transaction it replayed committed.
 */
export class ReadRouter {
  private status: ReplicaStatus = { serving: false, lagSeconds: null, detail: 'not measured yet' };
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  /** Reads retried on the primary after the replica failed them (tests and metrics read it). */
  retriedOnPrimary = 0;

  constructor(private readonly options: ReadRouterOptions) {}

  /** Measures once, then every `pollMs` until {@link stop}. */
  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.options.pollMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** What `/readyz` reports under `checks.replica`. */
  current(): ReplicaStatus {
    return this.status;
  }

  /** Measures the lag now (the poll does it every `pollMs`). */
  poll(): Promise<void> {
    this.polling ??= this.measure().finally(() => (this.polling = null));
    return this.polling;
  }

  private async measure(): Promise<void> {
    const before = this.status;
    const deadlineMs = this.options.deadlineMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs);
    });
    try {
      await Promise.race([this.lag(), late]).finally(() => clearTimeout(timer));
    } catch (err) {
      this.status = {
        serving: false,
        lagSeconds: null,
        detail: `read replica (DATABASE_READ_URL) unreachable: ${err instanceof Error ? err.message : String(err)}; reads go to the primary`,
      };
    }
    if (before.serving !== this.status.serving)
      this.options.logger?.warn(
        { replica: this.status },
        this.status.serving ? 'reads go to the read replica again' : 'reads go to the primary',
      );
  }

  /** Measures the replica's lag and sets the status from it; throws when either server does not answer. */
  private async lag(): Promise<void> {
    const { rows: p } = await this.options.primary.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
    const { rows } = await this.options.replica.query<{
      standby: boolean;
      behind_bytes: string | null;
      since: number | null;
    }>(
      `select pg_is_in_recovery() as standby,
              pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::text as behind_bytes,
              extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 as since`,
      [p[0]?.lsn ?? '0/0'],
    );
    const r = rows[0];
    // A read database that is not a standby (another primary, a logical copy) has no replay to lag.
    const lag = !r?.standby ? 0 : Number(r.behind_bytes ?? 1) <= 0 ? 0 : (r.since ?? Number.POSITIVE_INFINITY);
    const max = this.options.maxLagSeconds;
    this.status =
      lag <= max
        ? { serving: true, lagSeconds: lag, detail: null }
        : {
            serving: false,
            lagSeconds: Number.isFinite(lag) ? lag : null,
            detail: `replica replay is ${Number.isFinite(lag) ? `${lag.toFixed(1)} s` : 'an unknown time'} behind (more than DATABASE_READ_MAX_LAG_SECONDS=${max}): reads go to the primary`,
          };
  }

  /** A client for one use: pinned to the replica or the primary at its first statement. */
  private connect(): Promise<pg.PoolClient> {
    return Promise.resolve(new RoutedClient(this) as unknown as pg.PoolClient);
  }

  /** @internal The pool a fresh read starts on. */
  target(): 'replica' | 'primary' {
    return this.status.serving ? 'replica' : 'primary';
  }

  /** @internal */
  async checkout(target: 'replica' | 'primary'): Promise<pg.PoolClient> {
    return forOneUse(await (target === 'replica' ? this.options.replica : this.options.primary).connect());
  }

  /** @internal A read failed on the replica: measure again soon, and count the retry. */
  failedOnReplica(err: unknown): void {
    this.retriedOnPrimary++;
    this.options.logger?.warn({ err }, 'a read failed on the read replica; running it on the primary');
    void this.poll();
  }

  /**
   * A connection for a read the caller runs itself (an export page's COPY, which Kysely cannot send): the replica's
   * while it serves, else (or if the replica cannot be reached) the primary's. Released by the caller.
   */
  async connectForRead(): Promise<pg.PoolClient> {
    if (this.target() === 'replica') {
      try {
        return await this.checkout('replica');
      } catch (err) {
        this.failedOnReplica(err);
      }
    }
    return this.checkout('primary');
  }

  /** A Kysely instance whose reads this router routes. */
  kysely(): Kysely<Database> {
    return new Kysely<Database>({
      dialect: new PostgresDialect({ pool: { connect: () => this.connect(), end: () => Promise.resolve() } }),
    });
  }
}

/**
 * The client Kysely sees: its first statement picks the pool (and is retried on the primary if the replica fails
 * it); the statements after it, a transaction's for one, stay on the same connection.
 */
class RoutedClient {
  private client: pg.PoolClient | null = null;
  private statements = 0;

  constructor(private readonly router: ReadRouter) {}

  async query(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    const first = this.statements++ === 0;
    if (!this.client) {
      const target = this.router.target();
      if (target === 'replica') {
        let replica: pg.PoolClient | null = null;
        try {
          // Any failure to get a replica connection (refused, gone, its database dropped) sends the read on.
          replica = await this.router.checkout('replica');
        } catch (err) {
          this.router.failedOnReplica(err);
        }
        if (replica) {
          try {
            this.client = replica;
            return await replica.query(text, values);
          } catch (err) {
            if (!first || !isReplicaFailure(err)) throw err;
            replica.release(true);
            this.client = null;
            this.router.failedOnReplica(err);
          }
        }
      }
      this.client = await this.router.checkout('primary');
    }
    return this.client.query(text, values);
  }

  release(err?: Error | boolean): void {
    this.client?.release(err);
    this.client = null;
  }
}
