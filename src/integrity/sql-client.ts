import { CompiledQuery, type Kysely } from 'kysely';
import type pg from 'pg';

/**
 * What the integrity code needs of a connection: `pg`'s query call. A `pg` client is one; {@link withKyselyClient}
 * makes one of a Kysely connection (the GraphQL layer holds Kysely only).
 */
export interface SqlClient {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/** Runs `work` on one connection of a Kysely instance (so a transaction holds), as a {@link SqlClient}. */
export function withKyselyClient<T, DB>(db: Kysely<DB>, work: (client: SqlClient) => Promise<T>): Promise<T> {
  return db.connection().execute((bound) =>
    work({
      async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
        const result = await bound.executeQuery<R>(CompiledQuery.raw(text, values));
        return { rows: [...result.rows] };
      },
    }),
  );
}
