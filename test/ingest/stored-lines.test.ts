import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { importFiles, type RunSummary } from '../../src/ingest';
import {
  lookupRanges,
  MAX_LOOKUP_RANGES,
  storedLineLookup,
  StoredRecordFinder,
  type StoredLineLookup,
} from '../../src/ingest/stored-lines';
import { createTenant, writeExportFile } from '../../src/simulator';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { record, writeText } from './hand-made';

// Recognising stored records by their text (src/ingest/stored-lines.ts) must give exactly what parsing every record
// gives: each sequence of imports below runs into two stores, one with recognition and one without, and the stored
// events and the runs' counters must be the same.

let on: TestDatabase;
let off: TestDatabase;
let dir: string;

beforeAll(async () => {
  [on, off] = await Promise.all([createTestDatabase({ poolSize: 6 }), createTestDatabase({ poolSize: 6 })]);
  dir = mkdtempSync(join(tmpdir(), 'stored-lines-'));
});
afterAll(async () => {
  await Promise.all([on.drop(), off.drop()]);
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => Promise.all([on.truncate(), off.truncate()]));

let fileNo = 0;
/** A JSON Lines file of these exact lines. */
function file(lines: string[]): string {
  return writeText(join(dir, `f${fileNo++}.jsonl`), lines.join('\n') + '\n');
}

type Counters = Pick<RunSummary, 'read' | 'inserted' | 'duplicates' | 'rejected' | 'malformedMeta'>;
const countersOf = (s: RunSummary): Counters => ({
  read: s.read,
  inserted: s.inserted,
  duplicates: s.duplicates,
  rejected: s.rejected,
  malformedMeta: s.malformedMeta,
});

async function storedKeys(t: TestDatabase): Promise<string[]> {
  const { rows } = await sql<{ k: string }>`
    select event_key || ' ' || occurrence as k from audit_events order by 1`.execute(t.db);
  return rows.map((r) => r.k);
}

/** Imports the files in turn into both stores; returns the recognising store's summaries after checking they agree. */
async function importBoth(paths: string[], batchSize = 500): Promise<RunSummary[]> {
  const with_: RunSummary[] = [];
  for (const path of paths) {
    const [a, b] = await Promise.all([
      importFiles({ db: on.db, pool: on.pool }, [path], { batchSize, progressBar: false }),
      importFiles({ db: off.db, pool: off.pool }, [path], { batchSize, progressBar: false, recognizeStored: false }),
    ]);
    expect(a[0]!.state).toBe('succeeded');
    expect(countersOf(a[0]!)).toEqual(countersOf(b[0]!));
    expect(b[0]!.recognized).toBe(0);
    with_.push(a[0]!);
  }
  expect(await storedKeys(on)).toEqual(await storedKeys(off));
  return with_;
}

const A = JSON.stringify(record());
// The same record written another way (keys in another order): the same canonical record, another text.
const A_REORDERED = JSON.stringify(Object.fromEntries(Object.entries(record()).reverse()));
const B = JSON.stringify(record({ action: 'LUNA_LOGIN' }));
const C = JSON.stringify(record({ time: '2026-11-20 14:52:48.000 UTC' }));

describe('recognising stored records by their text', () => {
  it('recognises every record of a re-imported export, with the same counters and events as parsing them', async () => {
    const to = new Date(Date.UTC(2026, 10, 20));
    const tenant = createTenant({
      seed: 31,
      services: 2,
      clientsPerService: 3,
      eventsPerDay: 2000,
      days: 1,
      now: () => to,
    });
    const path = join(dir, 'export.jsonl.gz');
    await writeExportFile(tenant, new Date(to.getTime() - 86_400_000), to, path, 'gzip-jsonl');
    const [first, again] = await importBoth([path, path]);
    expect(first!.inserted).toBeGreaterThan(2000);
    expect(first!.recognized).toBe(0);
    expect(again!.inserted).toBe(0);
    expect(again!.duplicates).toBe(first!.inserted);
    // Identical records within a second (occurrence > 0) are parsed; every other one is recognised.
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from audit_events where occurrence > 0`.execute(
      on.db,
    );
    expect(again!.recognized).toBe(first!.inserted - rows[0]!.n);
    expect(again!.malformedMeta).toBe(first!.malformedMeta);
    expect(first!.malformedMeta).toBeGreaterThan(0);
  });

  it('numbers identical records as parsing does: more copies than stored, and the same record written another way', async () => {
    // [A] then [A, A]: the second copy is new (occurrence 1).
    let runs = await importBoth([file([A]), file([A, A])]);
    expect(runs.map((r) => r.inserted)).toEqual([1, 1]);
    expect(runs[1]!.recognized).toBe(1);
    await Promise.all([on.truncate(), off.truncate()]);
    // [A, A] then [A, A, A]: one more.
    runs = await importBoth([file([A, A]), file([A, A, A])]);
    expect(runs.map((r) => r.inserted)).toEqual([2, 1]);
    await Promise.all([on.truncate(), off.truncate()]);
    // [A] then [A', A] (A' the same record, keys reordered): A' takes occurrence 0, so A is occurrence 1, new. A is
    // stored under occurrence 0 and recognised by its text, but its number here is 1: it must be parsed, not dropped.
    runs = await importBoth([file([A]), file([A_REORDERED, A])]);
    expect(runs.map((r) => r.inserted)).toEqual([1, 1]);
    expect(runs[1]!.recognized).toBe(0);
  });

  it('numbers copies of a record across batches of one input', async () => {
    const runs = await importBoth([file([B, A, A, C, A, B]), file([B, A, A, C, A, B, A])], 2);
    expect(runs.map((r) => r.inserted)).toEqual([6, 1]);
    expect(runs[1]!.recognized).toBeGreaterThan(0);
  });

  it('parses what it cannot recognise: a time read wrong from the text, and events stored before the digest', async () => {
    // An unknown key holding its own "time" before the record's: the text match reads the wrong one.
    const nested = (i: number) =>
      `{"context":{"time":"2001-01-01 00:00:00 UTC"},${JSON.stringify(record({ traceID: `t${i}` })).slice(1)}`;
    const lines = [0, 1, 2, 3].map(nested);
    let runs = await importBoth([file(lines), file(lines)]);
    expect(runs[1]).toMatchObject({ inserted: 0, duplicates: 4, recognized: 0 });
    await Promise.all([on.truncate(), off.truncate()]);
    const plain = [0, 1, 2].map((i) => JSON.stringify(record({ traceID: `p${i}` })));
    await importBoth([file(plain)]);
    await sql`update audit_events set line_digest = null`.execute(on.db);
    runs = await importBoth([file(plain)]);
    expect(runs[0]).toMatchObject({ inserted: 0, duplicates: 3, recognized: 0 });
  });

  it('commits batches of exactly the batch size, whatever the records per lookup', async () => {
    const lines = [...Array(2500).keys()].map((i) => JSON.stringify(record({ traceID: `b${i}` })));
    const seen: number[] = [];
    const [run] = await importFiles(
      { db: on.db, pool: on.pool, onProgress: (p) => seen.push(p.records) },
      [file(lines)],
      { batchSize: 1500, progressBar: false, parallelism: 1 },
    );
    expect(run!.inserted).toBe(2500);
    // One writer: batches commit in order, 1,500 records and then the remaining 1,000.
    expect([...new Set(seen)]).toEqual([1500, 2500]);
  });

  it('stores the digest of the text each event was read from', async () => {
    await importBoth([file([A, B])]);
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from audit_events
       where line_digest = any(${[A, B].map(lineDigestOf)}::uuid[])`.execute(on.db);
    expect(rows[0]!.n).toBe(2);
  });
});

describe('bounding what a lookup costs', () => {
  it('covers the seconds it is given with runs of consecutive seconds, 32 at most', () => {
    expect(lookupRanges([])).toEqual([]);
    expect(lookupRanges([NaN, NaN])).toEqual([]);
    expect(lookupRanges([12, 10, 11, 11, NaN, 20])).toEqual([
      { from: 10, to: 13 },
      { from: 20, to: 21 },
    ]);
    // 1,000 seconds a day apart, and one a year away: joined into 32 ranges that cover every one of them, the lone
    // second its own range (a stray time widens no range).
    const far = [...Array(1000).keys()].map((i) => 1_790_000_000 + i * 86_400).concat([1_700_000_000]);
    const ranges = lookupRanges(far);
    expect(ranges).toHaveLength(MAX_LOOKUP_RANGES);
    expect(ranges[0]).toEqual({ from: 1_700_000_000, to: 1_700_000_001 });
    for (const s of far) expect(ranges.some((r) => r.from <= s && s < r.to)).toBe(true);
    const covered = ranges.reduce((n, r) => n + r.to - r.from, 0);
    expect(covered).toBeLessThan(1000 * 86_400);
  });

  it('reads at most `limit` stored rows of its seconds, whatever their digests', async () => {
    const plain = [...Array(10).keys()].map((i) => JSON.stringify(record({ traceID: `n${i}` })));
    const last = JSON.stringify(record({ traceID: 'last', time: '2026-11-20 14:52:47.900 UTC' }));
    await importBoth([file([...plain, last])]);
    await sql`update audit_events set line_digest = null where trace_id <> 'last'`.execute(on.db);
    const lookup = storedLineLookup(on.pool);
    const second = Math.floor(Date.parse('2026-11-20T14:52:47Z') / 1000);
    const ranges = [{ from: second, to: second + 1 }];
    expect([...(await lookup(ranges, 100)).keys()]).toEqual([lineDigestOf(last)]);
    // The rows of null digest come first in the index (earlier times): a limit of 10 reads only those.
    expect((await lookup(ranges, 10)).size).toBe(0);
  });

  it('recognises records far apart in time (a zip of months), through its joined ranges', async () => {
    const lines = [...Array(100).keys()].map((i) => {
      const day = new Date(Date.UTC(2026, 0, 1) + i * 3 * 86_400_000).toISOString().slice(0, 10);
      return JSON.stringify(record({ traceID: `far${i}`, time: `${day} 08:00:0${i % 10}.000 UTC` }));
    });
    const runs = await importBoth([file(lines), file(lines)], 1000);
    expect(runs[1]).toMatchObject({ inserted: 0, duplicates: 100, recognized: 100 });
  });

  it('looks up less often while lookups find nothing, and again as soon as one finds something', async () => {
    let calls = 0;
    let stored = false;
    const finder = new StoredRecordFinder(() => {
      calls++;
      return Promise.resolve(new Map(stored ? [['d', { key: 'k', second: 1, metaMalformed: false }]] : []));
    });
    // Finding nothing: a lookup, then 1, 2, 4, 8, 16, 16 batches without one.
    const looked: boolean[] = [];
    for (let i = 0; i < 60; i++) looked.push((await finder.find([1], 1)) !== null);
    expect(looked.map((l, i) => (l ? i : -1)).filter((i) => i >= 0)).toEqual([0, 2, 5, 10, 19, 36, 53]);
    expect(calls).toBe(7);
    // Something found: every batch is looked up again after the next lookup.
    stored = true;
    let until = 0;
    while ((await finder.find([1], 1)) === null) until++;
    expect(until).toBeLessThanOrEqual(16);
    for (let i = 0; i < 5; i++) expect(await finder.find([1], 1)).not.toBeNull();
  });

  it('parses every record when a lookup fails, and says so once, with the same result', async () => {
    const failing = new Proxy(on.pool, {
      get(target, prop, receiver) {
        if (prop !== 'query') return Reflect.get(target, prop, receiver) as unknown;
        return (text: unknown, ...rest: unknown[]) => {
          if (typeof text === 'string' && text.includes('string_agg(concat(line_digest')) {
            return Promise.reject(new Error('canceling statement due to statement timeout'));
          }
          return (target.query as (...a: unknown[]) => Promise<unknown>).call(target, text, ...rest);
        };
      },
    });
    const lines = [...Array(1200).keys()].map((i) => JSON.stringify(record({ traceID: `f${i}` })));
    const path = file(lines);
    await importBoth([path]);
    const warnings: string[] = [];
    const logger = { warn: (_: unknown, msg: string) => warnings.push(msg), info: () => undefined };
    const [a, b] = await Promise.all([
      importFiles({ db: on.db, pool: failing, logger: logger as never }, [path], {
        batchSize: 500,
        progressBar: false,
      }),
      importFiles({ db: off.db, pool: off.pool }, [path], {
        batchSize: 500,
        progressBar: false,
        recognizeStored: false,
      }),
    ]);
    expect(a[0]!.state).toBe('succeeded');
    expect(countersOf(a[0]!)).toEqual(countersOf(b[0]!));
    expect(a[0]).toMatchObject({ inserted: 0, duplicates: 1200, recognized: 0 });
    expect(warnings.filter((w) => w.startsWith('looking up stored records'))).toHaveLength(1);
    expect(await storedKeys(on)).toEqual(await storedKeys(off));
  });

  it('a lookup given no time it could read asks nothing', async () => {
    const lookup: StoredLineLookup = () => Promise.reject(new Error('not expected'));
    const finder = new StoredRecordFinder(lookup, () => {
      throw new Error('not expected either');
    });
    expect(await finder.find([NaN, NaN], 2)).toBeNull();
  });
});

function lineDigestOf(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
