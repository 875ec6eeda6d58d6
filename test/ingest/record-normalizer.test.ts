import { parseAuditTime } from '../../src/ingest/audit-time';
import { eventKey, OccurrenceCounter } from '../../src/ingest/event-key';
import { normalizeRecord } from '../../src/ingest/record-normalizer';
import { MAX_RECORD_CHARS, RecordSplitter } from '../../src/ingest/record-splitter';

describe('parseAuditTime', () => {
  it.each([
    ['2026-11-20 14:52:47.120 UTC', '2026-11-20T14:52:47.120Z'],
    ['2026-11-20 14:52:47 UTC', '2026-11-20T14:52:47.000Z'],
    ['2026-11-20T14:52:47.1234567Z', '2026-11-20T14:52:47.123Z'],
    ['2026-11-20T16:52:47.5+02:00', '2026-11-20T14:52:47.500Z'],
    ['2026-11-20t14:52:47z', '2026-11-20T14:52:47.000Z'],
    ['2024-02-29 00:00:00 UTC', '2024-02-29T00:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(new Date(parseAuditTime(text)).toISOString()).toBe(iso);
  });

  it.each([
    '2026-02-29 00:00:00 UTC',
    '2026-13-01 00:00:00 UTC',
    '2026-11-20 24:00:00 UTC',
    'yesterday',
    '0001-01-01 00:00:00 UTC',
    '',
  ])('rejects %j', (text) => {
    expect(parseAuditTime(text)).toBeNaN();
  });
});

describe('normalizeRecord', () => {
  const base = {
    time: '2026-11-20 14:52:47.120 UTC',
    source: 'thales/cloudhsm/1334049524932',
    resourceID: 's',
    actorID: 'c',
    action: 'LUNA_SIGN',
    status: 'LUNA_RET_OK',
  };

  it('gives the same canonical form for a meta string and a meta object, whatever the key casing and order', () => {
    const a = normalizeRecord({ ...base, meta: '{"clientip":"10.0.0.1","role":"CO","ouids":"a,b"}' });
    const b = normalizeRecord({
      META: { Role: 'CO', ouids: 'a,b', clientIP: '10.0.0.1' },
      STATUS: 'LUNA_RET_OK',
      action: 'LUNA_SIGN',
      actorid: 'c',
      resourceid: 's',
      source: base.source,
      Time: '2026-11-20T14:52:47.12Z',
    });
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(a.fields.canonical).toBe(b.fields.canonical);
    expect(b.fields).toMatchObject({
      clientIp: '10.0.0.1',
      role: 'CO',
      objectIds: ['a', 'b'],
      partitionId: '1334049524932',
      metaRaw: null,
      metaMalformed: false,
    });
  });

  it('keeps unknown keys in extra and they change the identity', () => {
    const a = normalizeRecord({ ...base, Region: 'eu' });
    const b = normalizeRecord({ ...base });
    expect(a.ok && a.fields.extra).toEqual({ Region: 'eu' });
    expect(a.ok && b.ok && a.fields.canonical !== b.fields.canonical).toBe(true);
  });
});

describe('event keys', () => {
  it('numbers identical records in a stream and keys each occurrence differently', () => {
    const counter = new OccurrenceCounter();
    expect([counter.next(10, 'x'), counter.next(10, 'x'), counter.next(10, 'y'), counter.next(11, 'x')]).toEqual([
      0, 1, 0, 0,
    ]);
    expect(eventKey('x', 0)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(eventKey('x', 0)).not.toBe(eventKey('x', 1));
    expect(eventKey('x', 1)).toBe(eventKey('x', 1));
  });

  it('forgets seconds far behind the newest one, so memory stays flat', () => {
    const counter = new OccurrenceCounter({ marginSeconds: 60 });
    counter.next(0, 'x');
    for (let s = 1; s <= 200; s++) counter.next(s, `r${s}`);
    expect(counter.next(0, 'x')).toBe(0);
    expect(counter.next(150, 'r150')).toBe(1);
  });

  it('numbers identical records right in a stream sorted newest first, with memory still bounded', () => {
    const counter = new OccurrenceCounter({ marginSeconds: 60, maxEntries: 100 });
    const wrong: number[] = [];
    for (let s = 5000; s >= 0; s--) {
      counter.next(s, `other-${s}`);
      if (counter.next(s, 'x') !== 0 || counter.next(s, 'x') !== 1) wrong.push(s);
    }
    expect(wrong).toEqual([]);
    expect((counter as unknown as { entries: number }).entries).toBeLessThanOrEqual(102);
  });

  it('prunes a stream that jumps between distant seconds at most once per 1,024 records, numbering it right', () => {
    const counter = new OccurrenceCounter();
    const prune = jest.spyOn(counter as unknown as { prune: () => void }, 'prune');
    const wrong: number[] = [];
    // Two interleaved runs of time an hour apart, each record twice: each pass over the kept seconds is work.
    for (let i = 0; i < 20_000; i++) {
      const second = i % 2 === 0 ? 1_000_000 + Math.floor(i / 20) : 1_003_600 + Math.floor(i / 20);
      if (counter.next(second, `r${i}`) !== 0 || counter.next(second, `r${i}`) !== 1) wrong.push(i);
    }
    expect(wrong).toEqual([]);
    expect(prune.mock.calls.length).toBeLessThanOrEqual(Math.ceil(40_000 / 1024) + 20);
  });

  it('keeps numbering right after one record far in the future', () => {
    const counter = new OccurrenceCounter({ marginSeconds: 60, maxEntries: 100 });
    counter.next(1e9, 'outlier');
    const wrong: number[] = [];
    for (let s = 0; s < 5000; s++) {
      counter.next(s, `other-${s}`);
      if (counter.next(s, 'x') !== 0 || counter.next(s, 'x') !== 1) wrong.push(s);
    }
    expect(wrong).toEqual([]);
  });
});

describe('RecordSplitter', () => {
  function split(chunks: string[]): { records: [string, number][]; rejects: [number, string][] } {
    const records: [string, number][] = [];
    const rejects: [number, string][] = [];
    const s = new RecordSplitter(
      (text, line) => records.push([text, line]),
      (_raw, line, reason) => rejects.push([line, reason]),
    );
    for (const c of chunks) s.feed(c);
    s.end();
    return { records, rejects };
  }

  it('splits JSON Lines across chunk boundaries with line numbers, skipping blank lines', () => {
    expect(split(['{"a":1}\r\n\n{"b"', ':2}\n{"c":3}'])).toEqual({
      records: [
        ['{"a":1}', 1],
        ['{"b":2}', 3],
        ['{"c":3}', 4],
      ],
      rejects: [],
    });
  });

  it('splits a JSON array at top-level commas only, respecting strings and nesting', () => {
    const text = '\n[\n {"a":"x,]}","n":[1,2]},\n {"b":{"c":"\\"]"}}\n,{"broken": }\n]\n';
    expect(split([text.slice(0, 9), text.slice(9)])).toEqual({
      records: [
        ['{"a":"x,]}","n":[1,2]}', 3],
        ['{"b":{"c":"\\"]"}}', 4],
        ['{"broken": }', 5],
      ],
      rejects: [],
    });
  });

  it('reports an array that never closes', () => {
    expect(split(['[{"a":1},{"b":'])).toEqual({
      records: [
        ['{"a":1}', 1],
        ['{"b":', 1],
      ],
      rejects: [[1, 'JSON array not closed: the input ended before "]"']],
    });
  });

  it('holds a line to its limit exactly, whatever the chunks and whatever BOM or CR around it', () => {
    const longest = `{${'x'.repeat(MAX_RECORD_CHARS - 1)}`;
    const whole = split([`\ufeff${longest}\r\n`]);
    const cut = split([`\ufeff${longest}\r`, '\n']);
    expect([whole.rejects, cut.rejects]).toEqual([[], []]);
    expect([whole.records.map(([r]) => r.length), cut.records.map(([r]) => r.length)]).toEqual([
      [MAX_RECORD_CHARS],
      [MAX_RECORD_CHARS],
    ]);
    const over = split([`${longest}x\r`, '\n']);
    expect([over.records, over.rejects.map(([line]) => line)]).toEqual([[], [1]]);
  });

  it('reads many arrays in a row in one chunk (no recursion per array)', () => {
    const { records, rejects } = split([`${'[]'.repeat(200_000)}[{"a":1}]\n{"b":2}\n`]);
    expect({ records, rejects }).toEqual({
      records: [
        ['{"a":1}', 1],
        ['{"b":2}', 2],
      ],
      rejects: [],
    });
  });

  it('skips a byte-order mark before a line, and reads the text after a closed array as records too', () => {
    expect(split(['\ufeff[{"a":1}', ']\n\ufeff{"b":2}\n\ufeff{"c":3}\n[1]'])).toEqual({
      records: [
        ['{"a":1}', 1],
        ['{"b":2}', 2],
        ['{"c":3}', 3],
        ['[1]', 4],
      ],
      rejects: [],
    });
  });
});

describe('record identity', () => {
  const base = {
    time: '2026-11-20 14:52:47.120 UTC',
    source: 'thales/cloudhsm/1334049524932',
    resourceID: 's',
    actorID: 'c',
    action: 'LUNA_SIGN',
    status: 'LUNA_RET_OK',
  };
  /** The normalised fields of a record given as JSON text (so own "__proto__" keys and key order are exactly as written). */
  function fieldsOf(text: string) {
    const result = normalizeRecord(JSON.parse(text));
    if (!result.ok) throw new Error(result.reason);
    return result.fields;
  }
  const json = (extra: string) => JSON.stringify(base).replace(/}$/, `,${extra}}`);

  it('gives one record the same identity and columns whatever the order of two spellings of a key', () => {
    const a = fieldsOf(json('"resourceid":"other"'));
    const b = fieldsOf(`{"resourceid":"other",${JSON.stringify(base).slice(1)}`);
    expect(b.canonical).toBe(a.canonical);
    expect([b.serviceId, b.extra]).toEqual([a.serviceId, expect.anything()]);
    expect(a.serviceId).toBe('s');
    expect(Object.values(a.extra!)).toEqual(['other']);
  });

  it('tells apart records whose second spelling of an unknown key differs', () => {
    const a = fieldsOf(json('"Region":"eu","region":"us"'));
    const b = fieldsOf(json('"Region":"eu","region":"xx"'));
    expect(a.canonical).not.toBe(b.canonical);
    expect(a.extra).toEqual({ Region: 'eu', region: 'us' });
    expect(fieldsOf(json('"region":"us","Region":"eu"')).canonical).toBe(a.canonical);
  });

  it('tells apart records whose third spelling of a known key differs', () => {
    const a = fieldsOf(json('"resourceid":"x","ResourceId":"y"'));
    const b = fieldsOf(json('"resourceid":"w","ResourceId":"y"'));
    expect(a.canonical).not.toBe(b.canonical);
    // Whatever the order, the column takes the same one of the values (the greatest); the others stay in extra.
    expect([a.serviceId, a.extra]).toEqual(['y', { resourceID: 's', resourceid: 'x' }]);
  });

  it('tells a second spelling of a key apart from a key literally named like its marker', () => {
    const spelt = fieldsOf(json('"resourceid":"x"'));
    const literal = fieldsOf(json('"resourceid#dup":"x"'));
    expect(literal.canonical).not.toBe(spelt.canonical);
    expect(literal.extra).toEqual({ 'resourceid#dup': 'x' });
  });

  it('tells apart metas whose second spelling of a key differs, whatever their order', () => {
    const a = fieldsOf(json('"meta":{"clientip":"10.0.0.1","ClientIP":"10.0.0.2"}'));
    const b = fieldsOf(json('"meta":{"clientip":"10.0.0.1","ClientIP":"10.0.0.3"}'));
    const swapped = fieldsOf(json('"meta":"{\\"ClientIP\\":\\"10.0.0.2\\",\\"clientip\\":\\"10.0.0.1\\"}"'));
    expect(a.canonical).not.toBe(b.canonical);
    expect(swapped.canonical).toBe(a.canonical);
    expect(swapped.clientIp).toBe(a.clientIp);
  });

  it('keeps the canonical text of an ordinary record with a "#" in a key, at the top and in meta', () => {
    const plain = fieldsOf(JSON.stringify(base)).canonical;
    expect(fieldsOf(json('"x#y":1')).canonical).toBe(`${plain.slice(0, -1)},"x#y":1}`);
    const withMeta = fieldsOf(json('"meta":{"k#1":"v"}')).canonical;
    expect(withMeta.startsWith('{')).toBe(true);
    expect(withMeta).toContain('"meta":{"k#1":"v"}');
  });

  it('keeps a "__proto__" key in extra and in the identity', () => {
    const a = fieldsOf(json('"__proto__":{"x":1}'));
    const b = fieldsOf(json('"__proto__":{"x":2}'));
    expect(a.canonical).not.toBe(b.canonical);
    expect(JSON.stringify(a.extra)).toBe('{"__proto__":{"x":1}}');
    expect(a.canonical).not.toBe(fieldsOf(JSON.stringify(base)).canonical);
  });

  it('keeps a known field whose value no column can hold in extra', () => {
    const f = fieldsOf(json('"tenantID":{"id":"t1"},"traceID":["a","b"]'));
    expect([f.tenantId, f.traceId]).toEqual([null, null]);
    expect(f.extra).toEqual({ tenantID: { id: 't1' }, traceID: ['a', 'b'] });
  });

  it('reads a record as its JSON value: number spellings, string escapes and repeated keys (the last wins)', () => {
    const plain = fieldsOf(json('"n":100,"s":"é"'));
    expect(fieldsOf(json('"n":1e2,"s":"\\u00e9"')).canonical).toBe(plain.canonical);
    expect(fieldsOf(json('"n":100.0,"s":"é"')).canonical).toBe(plain.canonical);
    // Unicode normal forms are different text, so different records.
    expect(fieldsOf(json('"n":100,"s":"e\\u0301"')).canonical).not.toBe(plain.canonical);
    // JSON.parse keeps the last of repeated keys; the line is read as that object.
    expect(fieldsOf(`${json('"n":1,"s":"é"').slice(0, -1)},"n":100}`).canonical).toBe(plain.canonical);
  });
});
