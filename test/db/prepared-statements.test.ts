import { sql } from 'kysely';
import { prepared } from '../../src/db/connection';
import { createTestDatabase, type TestDatabase } from '../support/db';

let t: TestDatabase;

beforeAll(async () => {
  // One connection, so every statement below meets the same session's prepared statements.
  t = await createTestDatabase({ poolSize: 1 });
});
afterAll(() => t.drop());

const preparedTexts = async () =>
  (
    await sql<{ statement: string }>`select statement from pg_prepared_statements order by statement`.execute(t.db)
  ).rows.map((r) => r.statement);

describe('prepared statements', () => {
  it('prepares a marked statement once per text and reuses it, with its parameters bound each time', async () => {
    const answers: number[] = [];
    for (let i = 0; i < 3; i++)
      answers.push((await prepared(sql<{ x: number }>`select ${i}::int * 2 as x`).execute(t.db)).rows[0]!.x);
    await prepared(sql<{ y: string }>`select ${'a'}::text as y`).execute(t.db);
    await sql`select ${1}::int as unmarked`.execute(t.db);
    expect(answers).toEqual([0, 2, 4]);
    expect(await preparedTexts()).toEqual([
      '/* prepared */ select $1::int * 2 as x',
      '/* prepared */ select $1::text as y',
    ]);
  });

  it('leaves the pool usable for COPY and plain queries on the same connections', async () => {
    const { rows } = await t.pool.query<{ n: number }>('select 41 + 1 as n');
    expect(rows[0]!.n).toBe(42);
  });
});
