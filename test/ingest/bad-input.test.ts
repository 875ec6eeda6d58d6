import { writeFileSync } from 'node:fs';
import { expect } from '@jest/globals';
import { join } from 'node:path';
import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib';
import { sql } from 'kysely';
import { importFiles } from '../../src/ingest';
import { MAX_RECORD_CHARS } from '../../src/ingest/record-splitter';
import { runCli } from '../support/cli';
import { jsonLines, record, zipOfEntries } from './hand-made';
import { useIngestStore } from './store-fixture';

const store = useIngestStore('ingest-bad-', { truncateEach: true });

const deps = () => ({ db: store.t.db, pool: store.t.pool });

/** `n` distinct records, one a second from 2026-11-21 10:00:00 UTC. */
function records(n: number, from = 0): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) =>
    record({ time: new Date(Date.UTC(2026, 10, 21, 10, 0, from + i)).toISOString() }),
  );
}

/** The record's JSON as bytes, with the placeholder "@" in it replaced by `bytes`. */
function withBytes(r: Record<string, unknown>, bytes: number[]): Buffer {
  const [head, tail] = JSON.stringify(r).split('@');
  return Buffer.concat([Buffer.from(head!), Buffer.from(bytes), Buffer.from(tail!)]);
}

function file(name: string, content: string | Buffer): string {
  const path = join(store.dir, name);
  writeFileSync(path, content);
  return path;
}

async function importOne(path: string, options: { batchSize?: number } = {}) {
  const [summary] = await importFiles(deps(), [path], options);
  return summary!;
}

async function storedKeys(): Promise<string[]> {
  const { rows } = await sql<{ k: string }>`select event_key as k from audit_events order by 1`.execute(store.t.db);
  return rows.map((r) => r.k);
}

async function rejected(): Promise<{ line: number; raw: string; reason: string }[]> {
  const rows = await store.t.db
    .selectFrom('rejected_records')
    .select(['line_number', 'raw', 'reason'])
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ line: Number(r.line_number), raw: r.raw, reason: r.reason }));
}

describe('line endings, byte-order marks and containers', () => {
  it('reads a UTF-8 byte-order mark at the start of the file and at the start of a later line', async () => {
    const [a, b, c] = records(3).map((r) => JSON.stringify(r));
    // The second BOM is what `cat` of two exports that each start with one leaves mid-file.
    const summary = await importOne(file('bom.jsonl', `\ufeff${a}\n${b}\n\ufeff${c}\n`));
    expect(summary).toMatchObject({ state: 'succeeded', read: 3, inserted: 3, rejected: 0 });
  });

  it('gives the same records the same keys as JSON Lines (LF, CRLF, BOM), as a JSON array and inside gzip and zip', async () => {
    const sample = [...records(4), record({ time: '2026-11-21 10:00:00 UTC' })]; // the last repeats the first: occurrence 1
    const first = await importOne(file('lf.jsonl', jsonLines(sample)));
    expect(first).toMatchObject({ state: 'succeeded', read: 5, inserted: 5 });
    const keys = await storedKeys();
    const crlf = `\ufeff${sample.map((r) => JSON.stringify(r)).join('\r\n')}\r\n`;
    const array = `\ufeff[\r\n${sample.map((r) => JSON.stringify(r, null, 2).replace(/\n/g, '\r\n')).join(',\r\n')}\r\n]\r\n`;
    const variants: [string, string | Buffer][] = [
      ['crlf.jsonl', crlf],
      ['array.json', array],
      ['crlf.jsonl.gz', gzipSync(crlf)],
      ['array.zip', zipOfEntries([{ name: 'export.json', content: Buffer.from(array) }])],
    ];
    for (const [name, content] of variants) {
      expect([name, await importOne(file(name, content))]).toEqual([
        name,
        expect.objectContaining({ state: 'succeeded', read: 5, inserted: 0, duplicates: 5, rejected: 0 }),
      ]);
    }
    expect(await storedKeys()).toEqual(keys);
  });

  it('reads every file entry of a zip, skipping a directory entry and an empty entry, with line numbers running on', async () => {
    const zip = zipOfEntries([
      { name: 'export/' },
      { name: 'export/part-1.jsonl', content: Buffer.from(jsonLines(records(2))) },
      { name: 'export/empty.jsonl', content: Buffer.alloc(0) },
      { name: 'export/part-2.json', content: Buffer.from(`[${JSON.stringify(records(2, 2)[0])},\n{"broken": }]`) },
    ]);
    const summary = await importOne(file('multi.zip', zip));
    expect(summary).toMatchObject({ state: 'succeeded', read: 4, inserted: 3, rejected: 1 });
    expect((await rejected()).map((r) => [r.line, r.raw])).toEqual([[4, '{"broken": }']]);
  });

  it('reads an empty file, an empty gzip and a zip without entries as no records, and succeeds', async () => {
    for (const [name, content] of [
      ['empty.jsonl', ''],
      ['empty.gz', gzipSync('')],
      ['blank.jsonl', '\r\n\n  \n'],
      ['empty.zip', zipOfEntries([])],
    ] as const) {
      expect([name, await importOne(file(name, content))]).toEqual([
        name,
        expect.objectContaining({ state: 'succeeded', read: 0, inserted: 0, rejected: 0, error: null }),
      ]);
    }
  });
});

describe('damaged input', () => {
  it('stores every record before the cut of a truncated gzip, rejects the cut line, and fails the run saying so', async () => {
    const earlier = await importOne(file('earlier.jsonl', jsonLines([record({ time: '2026-11-01 00:00:00 UTC' })])));
    expect(earlier.inserted).toBe(1);
    const all = records(400);
    const gz = gzipSync(jsonLines(all));
    const cut = gz.subarray(0, Math.floor(gz.length * 0.6));
    // What a reader can get out of the cut file: whole lines, then part of one.
    const readable = gunzipSync(cut, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString('utf8');
    const whole = readable.split('\n').length - 1;
    expect(whole).toBeGreaterThan(10);
    const path = file('cut.jsonl.gz', cut);

    const summary = await importOne(path);
    expect(summary).toMatchObject({ state: 'failed', read: whole + 1, inserted: whole, rejected: 1 });
    expect(summary.error).toContain(path);
    expect(summary.error).toMatch(/unexpected end of file/);
    const [cutLine] = await rejected();
    expect(cutLine).toMatchObject({ line: whole + 1, raw: readable.slice(readable.lastIndexOf('\n') + 1) });
    expect(cutLine!.reason).toMatch(/^the input ended inside this record/);

    // Rows stored before stay; the whole file later adds exactly the rest.
    const rest = await importOne(file('whole.jsonl.gz', gzipSync(jsonLines(all))));
    expect(rest).toMatchObject({ state: 'succeeded', read: 400, inserted: 400 - whole, duplicates: whole });
    expect(await storedKeys()).toHaveLength(401);
  });

  it('fails the run of a zip cut before its directory with an error naming the file, and keeps stored rows', async () => {
    await importOne(file('earlier.jsonl', jsonLines(records(1))));
    const zip = zipOfEntries([{ name: 'export.jsonl', content: Buffer.from(jsonLines(records(3, 10))) }]);
    const path = file('cut.zip', zip.subarray(0, zip.length - 30));
    const summary = await importOne(path);
    expect(summary).toMatchObject({ state: 'failed', inserted: 0 });
    expect(summary.error).toContain(path);
    expect(await storedKeys()).toHaveLength(1);
  });

  it('rejects a line longer than the limit on its own, keeping its start, and reads the lines around it', async () => {
    const [a, c] = records(2).map((r) => JSON.stringify(r));
    const huge = JSON.stringify(
      record({ time: '2026-11-21 11:00:00 UTC', padding: 'x'.repeat(MAX_RECORD_CHARS - 300) }),
    );
    expect(huge.length - MAX_RECORD_CHARS).toBeGreaterThan(0); // just over: the limit is exact
    expect(huge.length - MAX_RECORD_CHARS).toBeLessThan(1000);
    const summary = await importOne(file('huge.jsonl', `${a}\n${huge}\n${c}\n`));
    expect(summary).toMatchObject({ state: 'succeeded', read: 3, inserted: 2, rejected: 1 });
    const [r] = await rejected();
    expect(r).toMatchObject({ line: 2, reason: expect.stringMatching(/^line longer than/) });
    expect(huge.startsWith(r!.raw.slice(0, -1))).toBe(true);
  });

  it('rejects an array element longer than the limit once, and reads the elements around it', async () => {
    const [a, c] = records(2).map((r) => JSON.stringify(r));
    const huge = JSON.stringify(
      record({ time: '2026-11-21 11:00:00 UTC', padding: 'x'.repeat(MAX_RECORD_CHARS + 100_000) }),
    );
    const summary = await importOne(file('huge.json', `[${a},\n${huge},\n${c}]`));
    expect(summary).toMatchObject({ state: 'succeeded', read: 3, inserted: 2, rejected: 1 });
    expect((await rejected()).map((r) => [r.line, r.reason.replace(/ \(.*$/, '')])).toEqual([
      [2, `array element longer than ${MAX_RECORD_CHARS} characters`],
    ]);
  });

  it('rejects a record holding a NUL byte and stores one whose text only spells a backslash-u0000', async () => {
    const [a, b] = records(2);
    const withNul = JSON.stringify(a).replace('LUNA_SIGN', 'LUNA_\u0000SIGN');
    const spelled = JSON.stringify({ ...b, note: 'C:\\u0000' }); // the value is the six characters \u0000, not NUL
    const summary = await importOne(file('nul.jsonl', `${withNul}\n${spelled}\n`));
    expect(summary).toMatchObject({ state: 'succeeded', read: 2, inserted: 1, rejected: 1 });
    expect((await rejected())[0]).toMatchObject({ line: 1, reason: expect.stringContaining('NUL') });
    const row = await store.t.db.selectFrom('audit_events').select('extra').executeTakeFirstOrThrow();
    expect(row.extra).toEqual({ note: 'C:\\u0000' });
  });

  it('rejects records with invalid UTF-8, showing the bad bytes, and stores the rest (a real U+FFFD included)', async () => {
    const [a, b, c, d] = records(4).map((r) => Buffer.from(JSON.stringify(r)));
    const latin1 = Buffer.from(
      JSON.stringify(record({ time: '2026-11-21 12:00:00 UTC', note: 'caf\u00e9' })),
      'latin1',
    ); // é as the lone byte e9
    const cutSequence = withBytes(record({ time: '2026-11-21 12:00:01 UTC', x: '@' }), [0xe2, 0x82]); // a 3-byte sequence missing its last byte
    const replacement = Buffer.from(JSON.stringify(record({ time: '2026-11-21 12:00:02 UTC', note: '\ufffd' })));
    const nl = Buffer.from('\n');
    const summary = await importOne(
      file('utf8.jsonl', Buffer.concat([a!, nl, latin1, nl, b!, nl, cutSequence, nl, c!, nl, replacement, nl, d!, nl])),
    );
    expect(summary).toMatchObject({ state: 'succeeded', read: 7, inserted: 5, rejected: 2 });
    const bad = await rejected();
    expect(bad.map((r) => [r.line, r.reason])).toEqual([
      [2, expect.stringMatching(/not valid UTF-8/)],
      [4, expect.stringMatching(/not valid UTF-8/)],
    ]);
    expect(bad[0]!.raw).toContain('caf\\xe9');
    expect(bad[1]!.raw).toContain('"x":"\\xe2\\x82"');
    const notes = await sql<{
      note: string;
    }>`select extra->>'note' as note from audit_events where extra is not null`.execute(store.t.db);
    expect(notes.rows).toEqual([{ note: '\ufffd' }]);
  });

  it('rejects an invalid UTF-8 sequence split across read chunks', async () => {
    // 64 KiB reads: put the bad bytes right at a chunk boundary, and a good multi-byte character across the next.
    const badText = JSON.stringify(record({ time: '2026-11-21 12:00:01 UTC', x: '@' }));
    const before = Buffer.from(`\n${badText.slice(0, badText.indexOf('@'))}`);
    const bare = JSON.stringify(record({ time: '2026-11-21 12:00:00 UTC', pad: '' })).length;
    const line1 = Buffer.from(
      JSON.stringify(record({ time: '2026-11-21 12:00:00 UTC', pad: 'p'.repeat(65_535 - before.length - bare) })),
    );
    const bad = Buffer.from([0xf0, 0x9f, 0x98]); // a 4-byte sequence missing its last byte
    const afterBad = Buffer.from(`${badText.slice(badText.indexOf('@') + 1)}\n`);
    expect(line1.length + before.length).toBe(65_536 - 1); // the bad bytes straddle the first chunk boundary
    const goodAt = (pad: number) =>
      JSON.stringify(record({ time: '2026-11-21 12:00:02 UTC', pad: 'q'.repeat(pad), note: '\u{1F600}' }));
    const used = line1.length + before.length + bad.length + afterBad.length;
    const pad = 131_072 - 2 - used - goodAt(0).indexOf('\u{1F600}');
    const good = Buffer.from(`${goodAt(pad)}\n`);
    expect(good.subarray(131_072 - used - 2, 131_072 - used + 2)).toEqual(Buffer.from('\u{1F600}')); // the emoji straddles the second
    const content = Buffer.concat([line1, before, bad, afterBad, good]);
    const summary = await importOne(file('utf8-chunks.jsonl', content));
    expect(summary).toMatchObject({ state: 'succeeded', read: 3, inserted: 2, rejected: 1 });
    expect((await rejected())[0]).toMatchObject({
      line: 2,
      raw: badText.replace('@', '\\xf0\\x9f\\x98'),
      reason: expect.stringMatching(/not valid UTF-8/),
    });
    const notes = await sql<{
      note: string;
    }>`select extra->>'note' as note from audit_events where extra ? 'note'`.execute(store.t.db);
    expect(notes.rows).toEqual([{ note: '\u{1F600}' }]);
  });
});

describe('JSON arrays that go wrong', () => {
  it('rejects an element with a stray closing brace on its own and reads the elements after it', async () => {
    const [a, b, c] = records(3).map((r) => JSON.stringify(r));
    const summary = await importOne(file('stray.json', `[\n${a},\n${b}},\n${c}\n]\n`));
    expect(summary).toMatchObject({ state: 'succeeded', read: 3, inserted: 2, rejected: 1 });
    expect((await rejected()).map((r) => r.line)).toEqual([3]);
  });

  it('reads what follows a closed array (another array, or JSON Lines) instead of dropping it', async () => {
    const [a, b, c, d] = records(4).map((r) => JSON.stringify(r));
    const summary = await importOne(file('after.json', `[${a}]\n[${b}]\n${c}\n${d}\n`));
    expect(summary).toMatchObject({ state: 'succeeded', read: 4, inserted: 4, rejected: 0 });
  });

  it('rejects text after an array line by line, keeping the records among it', async () => {
    const [a, b] = records(2).map((r) => JSON.stringify(r));
    const summary = await importOne(file('trailing.json', `[${a}]\ngarbage\n${b}\n`));
    expect(summary).toMatchObject({ state: 'succeeded', read: 3, inserted: 2, rejected: 1 });
    expect((await rejected()).map((r) => [r.line, r.raw])).toEqual([[2, 'garbage']]);
  });
});

describe('escapes PostgreSQL cannot store', () => {
  it('keeps the event when only its meta holds NUL or a lone surrogate (meta kept raw, flagged), and rejects it when another field does', async () => {
    const at = (s: number) => `2026-11-21 13:00:0${s} UTC`;
    const lines = [
      // Meta as a string holding escapes (the outer JSON escapes their backslash).
      JSON.stringify(record({ time: at(0), meta: '{"clientip":"10.0.0.1","role":"CO","x":"a\\u0000b"}' })),
      JSON.stringify(record({ time: at(1), meta: '{"clientip":"10.0.0.1","role":"\\udc00"}' })),
      // Meta as an object holding them.
      JSON.stringify(record({ time: at(2), meta: { clientip: '10.0.0.2', role: 'CU', x: 'a\u0000b' } })),
      JSON.stringify(record({ time: at(3), meta: { clientip: '10.0.0.3', role: 'PO', ['k\ud800']: 1 } })),
      // Elsewhere: nothing can hold them.
      JSON.stringify(record({ time: at(4), action: 'LUNA_\ud800SIGN' })),
      JSON.stringify(record({ time: at(5), note: 'x\udfff' })),
      JSON.stringify(record({ time: at(6), tenantID: 'a\u0000b' })),
      // A surrogate pair written as escapes is an ordinary character.
      JSON.stringify(record({ time: at(7), note: '\u{1F600}' })).replace('\u{1F600}', '\\ud83d\\ude00'),
    ];
    const summary = await importOne(file('escapes.jsonl', `${lines.join('\n')}\n`));
    expect(summary).toMatchObject({ state: 'succeeded', read: 8, inserted: 5, rejected: 3, malformedMeta: 4 });
    expect((await rejected()).map((r) => [r.line, r.reason.replace(/ holds.*/, '')])).toEqual([
      [5, 'a field'],
      [6, 'an unknown field'],
      [7, 'a field'],
    ]);
    const rows = await store.t.db
      .selectFrom('audit_events')
      .select(['client_ip', 'role', 'meta', 'meta_raw', 'meta_malformed', 'extra'])
      .orderBy('time')
      .execute();
    expect(rows).toEqual([
      {
        client_ip: '10.0.0.1',
        role: 'CO',
        meta: null,
        meta_raw: '{"clientip":"10.0.0.1","role":"CO","x":"a\\u0000b"}',
        meta_malformed: true,
        extra: null,
      },
      {
        client_ip: '10.0.0.1',
        role: null,
        meta: null,
        meta_raw: '{"clientip":"10.0.0.1","role":"\\udc00"}',
        meta_malformed: true,
        extra: null,
      },
      {
        client_ip: '10.0.0.2',
        role: 'CU',
        meta: null,
        meta_raw: '{"clientip":"10.0.0.2","role":"CU","x":"a\\u0000b"}',
        meta_malformed: true,
        extra: null,
      },
      {
        client_ip: '10.0.0.3',
        role: 'PO',
        meta: null,
        meta_raw: '{"clientip":"10.0.0.3","role":"PO","k\\ud800":1}',
        meta_malformed: true,
        extra: null,
      },
      {
        client_ip: '10.0.0.1',
        role: 'CO',
        meta: expect.objectContaining({ role: 'CO' }),
        meta_raw: expect.any(String),
        meta_malformed: false,
        extra: { note: '\u{1F600}' },
      },
    ]);
  });

  it('rejects on its own a row the database refuses, storing the rest of its batch', async () => {
    // A constraint stands in for any refusal the parser does not foresee.
    await sql`alter table audit_events add constraint refuse_teleport check (action <> 'LUNA_TELEPORT')`.execute(
      store.t.db,
    );
    try {
      const all = records(7).map((r, i) => (i === 4 ? { ...r, action: 'LUNA_TELEPORT' } : r));
      const summary = await importOne(file('refused.jsonl', jsonLines(all)));
      expect(summary).toMatchObject({ state: 'succeeded', read: 7, inserted: 6, rejected: 1 });
      const [r] = await rejected();
      expect(r).toMatchObject({
        line: 5,
        reason: expect.stringMatching(/^the database refused the record .*refuse_teleport/),
      });
      expect(r!.raw).toContain('LUNA_TELEPORT');
      const rollups = await sql<{ n: number }>`select sum(count)::int as n from audit_rollups_hourly`.execute(
        store.t.db,
      );
      expect(rollups.rows[0]!.n).toBe(6);
    } finally {
      await sql`alter table audit_events drop constraint refuse_teleport`.execute(store.t.db);
    }
  });
});

describe('dpod-audit import', () => {
  it('imports every file it can, prints a summary per file, and exits 1 naming the damaged one', async () => {
    const good = file('cli-good.jsonl', jsonLines(records(3)));
    const gz = gzipSync(jsonLines(records(200, 100)));
    const cut = file('cli-cut.jsonl.gz', gz.subarray(0, gz.length - 40));
    const odd = file(
      'cli-odd.jsonl',
      Buffer.concat([
        Buffer.from(`\ufeff${JSON.stringify(records(1, 400)[0])}\r\n`),
        withBytes(record({ time: '2026-11-21 12:00:00 UTC', x: '@' }), [0xff]),
        Buffer.from('\r\n'),
      ]),
    );
    const result = await runCli(['import', good, cut, odd, '--no-progress'], {
      DATABASE_URL: store.t.url,
      LOG_LEVEL: 'error',
    });
    expect(result.code).toBe(1);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/cli-good\.jsonl: succeeded; read 3, inserted 3, duplicates 0, rejected 0/);
    expect(lines[1]).toMatch(
      /cli-cut\.jsonl\.gz: failed; read \d+, inserted \d+, duplicates 0, rejected 1, .*error: .*cli-cut\.jsonl\.gz: could not read on: unexpected end of file/,
    );
    expect(lines[2]).toMatch(/cli-odd\.jsonl: succeeded; read 2, inserted 1, duplicates 0, rejected 1/);
    expect(result.stderr).toContain('1 of 3 run(s) failed');
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from audit_events`.execute(store.t.db);
    expect(rows[0]!.n).toBe(3 + Number(/inserted (\d+)/.exec(lines[1]!)![1]) + 1);
    expect(Number(/inserted (\d+)/.exec(lines[1]!)![1])).toBeGreaterThan(100);
  });
});
