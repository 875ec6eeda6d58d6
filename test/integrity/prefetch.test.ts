import { join } from 'node:path';
import type pg from 'pg';
import { importFiles } from '../../src/ingest';
import { leavesOfHours, prefetchLeaves } from '../../src/integrity/period-leaves';
import type { SqlClient } from '../../src/integrity/sql-client';
import { jsonLines, record, writeText } from '../ingest/hand-made';
import { useIngestStore } from '../ingest/store-fixture';

// The sealer's prefetch of leaves on real connections: every task's leaves arrive in order and equal a direct
// read, the connections run at most two tasks each ahead of the taker, and a failing connection fails the take
// instead of leaving the sealer waiting.

const store = useIngestStore('prefetch-');
const SERVICE = 'f59a597b-19b9-41df-b479-1530ed60fca3';
const START = Date.UTC(2026, 10, 20, 0);
const HOURS = Array.from({ length: 12 }, (_, h) => new Date(START + h * 3_600_000));
const TASKS = HOURS.map((h) => ({ serviceId: SERVICE, hours: [h] }));

beforeAll(async () => {
  const records = HOURS.flatMap((h, i) =>
    Array.from({ length: i + 1 }, (_, k) =>
      record({ time: new Date(h.getTime() + k * 60_000).toISOString(), traceID: `t-${i}-${k}` }),
    ),
  );
  const [summary] = await importFiles({ db: store.t.db, pool: store.t.pool }, [
    writeText(join(store.dir, 'hours.jsonl'), jsonLines(records)),
  ]);
  expect(summary).toMatchObject({ state: 'succeeded', inserted: records.length });
});

/** A real connection that counts the statements it has started and finished. */
function counted(client: pg.PoolClient): SqlClient & { started: number; done: number } {
  const c = {
    started: 0,
    done: 0,
    async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]) {
      c.started++;
      try {
        return await client.query<R>(text, values);
      } finally {
        c.done++;
      }
    },
  };
  return c;
}

it('gives every task the leaves a direct read gives, in order, staying at most two tasks per connection ahead', async () => {
  const clients = [await store.t.pool.connect(), await store.t.pool.connect()];
  try {
    const workers = clients.map(counted);
    const prefetch = prefetchLeaves(workers, TASKS, 'stored');
    // Nothing taken yet: once 2 connections x 2 tasks ahead are done, no fifth task starts.
    const total = (k: 'started' | 'done') => workers.reduce((a, w) => a + w[k], 0);
    for (let waited = 0; total('done') < 4 && waited < 20_000; waited += 20)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect({ started: total('started'), done: total('done') }).toEqual({ started: 4, done: 4 });
    for (const [i, task] of TASKS.entries()) {
      const leaves = await prefetch.take(i);
      const direct = await leavesOfHours(store.t.pool, task.serviceId, task.hours);
      expect(leaves.get(task.hours[0]!.getTime())?.length).toBe(32 * (i + 1));
      expect(leaves).toEqual(direct);
    }
    await prefetch.settle();
    expect(workers.reduce((a, w) => a + w.done, 0)).toBe(TASKS.length);
    await expect(prefetch.take(0)).rejects.toThrow('taken already');
  } finally {
    for (const c of clients) c.release();
  }
});

it('fails the take of a task whose connection broke, and the later ones, without hanging', async () => {
  const good = await store.t.pool.connect();
  const broken = await store.t.pool.connect();
  broken.on('error', () => undefined);
  try {
    const { rows } = await broken.query<{ pid: number }>('select pg_backend_pid() as pid');
    await good.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
    const prefetch = prefetchLeaves([broken], TASKS);
    await expect(prefetch.take(0)).rejects.toThrow();
    // The connection stopped after its failure: every later task is rejected too, none left pending.
    const later = await Promise.allSettled(TASKS.slice(1).map((_, i) => prefetch.take(i + 1)));
    expect(later.map((r) => r.status)).toEqual(TASKS.slice(1).map(() => 'rejected'));
    expect(String((later[0] as PromiseRejectedResult).reason)).toContain('an earlier task failed');
    await prefetch.settle();
  } finally {
    good.release();
    broken.release(true);
  }
});
