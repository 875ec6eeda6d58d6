import { join } from 'node:path';
import { importFiles } from '../../src/ingest';
import { sealClosedPeriods, verifyStore } from '../../src/integrity';
import { LEAF_HASH_SQL } from '../../src/integrity/period-leaves';
import { jsonLines, record, writeText } from '../ingest/hand-made';
import { useIngestStore } from '../ingest/store-fixture';

// The importer stores each event's leaf hash as it computes it from the values it writes (src/integrity/ingest-
// leaf.ts); the sealer reads it instead of recomputing. It must equal, byte for byte, the leaf PostgreSQL computes
// from the stored columns (what verify recomputes), or be absent where the importer cannot be sure.

const store = useIngestStore('stored-leaf-', { truncateEach: true });
const NOW = new Date('2026-11-21T00:00:00Z');

const meta = (m: Record<string, unknown>) =>
  JSON.stringify({ clientip: '10.0.0.1', hsmid: '567782', ouids: '2d00000012ab', partid: '1334049524932', ...m });

/** Values whose jsonb, inet or JSON text is easy to get wrong, each as its own record (trace id = name). */
const PREDICTED: Record<string, Record<string, unknown>> = {
  plain: {},
  'dpod-seconds': { time: '2026-11-20 14:52:47 UTC' },
  'dpod-micro': { time: '2026-11-20 14:52:47.123999 UTC' },
  'key-order': { meta: meta({ z: 'last', aa: 'two', b: 'one', role: 'CO' }) },
  'utf8-key-lengths': { meta: meta({ é: 'two bytes', zz: 'two chars', 漢: 'three bytes', a: 1 }) },
  numbers: { meta: meta({ n: [1.5, 100, -0, 0.000001, -2.25, 2 ** 60, 1.0] }) },
  nested: { meta: meta({ deep: { b: [true, false, null, { y: 'x' }], a: {} }, list: [] }) },
  escapes: { meta: meta({ s: 'quote " back \\ tab \t nl \n cr \r \u0001 \u001f \u007f \u2028 😀 </script>' }) },
  'proto-key': { meta: meta({ __proto__: 'own key', '': 'empty key' }) },
  'ip-port': { meta: meta({ clientip: '10.1.2.3:443' }) },
  'ip-mask': { meta: meta({ clientip: '10.1.2.0/24' }) },
  'no-ip': { meta: meta({ clientip: undefined }) },
  'meta-object': { meta: { clientip: '10.9.9.9', hsmid: 'h', role: 'PO' } },
  'seed-malformed': {
    meta: '{\\"clientip\\":\\"10.3.3.3\\",\\"hsmid\\":\\"567782\\",\\"ouids\\":\\"XXXX",\\"partid\\":\\"1334\\",\\"role\\":\\"CO\\"}',
  },
  'not-json-meta': { meta: 'clientip=10.0.0.1 role=CO' },
  'unknown-keys': { Region: 'eu-west', nested: { b: 2, a: [1, 'x'] }, flag: true },
  'odd-text': { action: 'LUNA_SIGN\tx', status: 'STATUS\\"é', objectIDs: ['a"b', 'c\\d', '漢'] },
};

/** Values PostgreSQL re-prints in ways the importer does not predict: stored without a leaf. */
const UNPREDICTED: Record<string, Record<string, unknown>> = {
  ipv6: { meta: meta({ clientip: '2001:DB8:0:0::1' }) },
  'exponent-big': { meta: meta({ n: 1e21 }) },
  'exponent-small': { meta: meta({ n: 1e-7 }) },
  'exponent-in-extra': { other: { n: 5e-324 } },
};

async function importVariants(variants: Record<string, Record<string, unknown>>, seal = true): Promise<void> {
  const records = Object.entries(variants).map(([name, overrides]) => record({ traceID: name, ...overrides }));
  // An identical record twice: the second has occurrence 1, and its own leaf.
  records.push(record({ traceID: 'twice' }), record({ traceID: 'twice' }));
  const [summary] = await importFiles(
    { db: store.t.db, pool: store.t.pool },
    [writeText(join(store.dir, `v-${Math.random().toString(36).slice(2)}.jsonl`), jsonLines(records))],
    { leaves: seal },
  );
  expect(summary).toMatchObject({ state: 'succeeded', inserted: records.length, rejected: 0 });
}

async function leaves(): Promise<Record<string, { stored: string | null; recomputed: string }>> {
  const { rows } = await store.t.pool.query<{
    trace_id: string;
    occurrence: number;
    stored: string | null;
    recomputed: string;
  }>(
    `select e.trace_id, e.occurrence, encode(e.leaf, 'hex') as stored, encode(${LEAF_HASH_SQL}, 'hex') as recomputed
       from audit_events e`,
  );
  return Object.fromEntries(
    rows.map((r) => [`${r.trace_id}#${r.occurrence}`, { stored: r.stored, recomputed: r.recomputed }]),
  );
}

it('stores the leaf PostgreSQL computes from the stored columns, for every kind of value it predicts', async () => {
  await importVariants(PREDICTED);
  const byName = await leaves();
  const names = [...Object.keys(PREDICTED).map((n) => `${n}#0`), 'twice#0', 'twice#1'];
  expect(Object.keys(byName).sort()).toEqual(names.sort());
  for (const name of names) {
    expect({ name, leaf: byName[name]?.stored }).toEqual({ name, leaf: byName[name]?.recomputed });
  }
  expect(byName['twice#0']?.stored).not.toBe(byName['twice#1']?.stored);
});

it('stores no leaf where PostgreSQL re-prints a value differently, and the sealer computes those from the columns', async () => {
  await importVariants(UNPREDICTED);
  const byName = await leaves();
  for (const name of Object.keys(UNPREDICTED))
    expect({ name, leaf: byName[`${name}#0`]?.stored }).toEqual({ name, leaf: null });
  expect(byName['twice#0']?.stored).toBe(byName['twice#0']?.recomputed);
  expect(await sealClosedPeriods(store.t.pool, { closedBefore: NOW })).toMatchObject({ sealed: 1, skipped: [] });
  expect((await verifyStore(store.t.pool, { closedBefore: NOW })).verified).toBe(true);
});

it('import without sealing stores no leaves, and a later seal still verifies', async () => {
  await importVariants(PREDICTED, false);
  const byName = await leaves();
  expect(Object.values(byName).filter((l) => l.stored !== null)).toEqual([]);
  expect(await sealClosedPeriods(store.t.pool, { closedBefore: NOW })).toMatchObject({ sealed: 1, skipped: [] });
  expect((await verifyStore(store.t.pool, { closedBefore: NOW })).verified).toBe(true);
});

it('seals what the importer wrote: a row changed before sealing is named by verify afterwards', async () => {
  await importVariants(PREDICTED);
  await store.t.pool.query(`update audit_events set status = 'LUNA_RET_OK_FORGED' where trace_id = 'plain'`);
  expect(await sealClosedPeriods(store.t.pool, { closedBefore: NOW })).toMatchObject({ sealed: 1, skipped: [] });
  const report = await verifyStore(store.t.pool, { closedBefore: NOW });
  expect(report.verified).toBe(false);
  expect(report.periods.map((p) => p.status)).toEqual(['MISMATCH']);
});

it('stores the right leaves for the new rows of a batch that also holds stored ones (sent row by row, not as the whole buffer)', async () => {
  const half = Object.fromEntries(Object.entries(PREDICTED).slice(0, 8));
  await importVariants(half);
  const before = await leaves();
  // The same records again with the rest: the first ones are duplicates, the others new.
  const records = Object.entries(PREDICTED).map(([name, overrides]) => record({ traceID: name, ...overrides }));
  records.push(record({ traceID: 'twice' }), record({ traceID: 'twice' }), record({ traceID: 'third-time' }));
  const [summary] = await importFiles(
    { db: store.t.db, pool: store.t.pool },
    [writeText(join(store.dir, 'mixed.jsonl'), jsonLines(records))],
    { leaves: true },
  );
  expect(summary).toMatchObject({ state: 'succeeded', inserted: records.length - 10, duplicates: 10 });
  const after = await leaves();
  expect(Object.keys(after)).toHaveLength(records.length);
  for (const [name, leaf] of Object.entries(after)) {
    expect({ name, stored: leaf.stored }).toEqual({ name, stored: leaf.recomputed });
    expect(leaf.stored).not.toMatch(/^0+$/);
  }
  // What the first import stored is unchanged.
  for (const [name, leaf] of Object.entries(before)) expect(after[name]).toEqual(leaf);
});
