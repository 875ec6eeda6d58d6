import { parseAuditTime } from '../../src/ingest/audit-time';
import { eventKey, OccurrenceCounter } from '../../src/ingest/event-key';
import { normalizeRecord } from '../../src/ingest/record-normalizer';
import { RecordSplitter } from '../../src/ingest/record-splitter';

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

  it.each(['2026-02-29 00:00:00 UTC', '2026-13-01 00:00:00 UTC', '2026-11-20 24:00:00 UTC', 'yesterday', '0001-01-01 00:00:00 UTC', ''])(
    'rejects %j',
    (text) => {
      expect(parseAuditTime(text)).toBeNaN();
    },
  );
});

describe('normalizeRecord', () => {
  const base = {
    time: '2026-11-20 14:52:47.120 UTC', source: 'thales/cloudhsm/1334049524932', resourceID: 's', actorID: 'c', action: 'LUNA_SIGN', status: 'LUNA_RET_OK',
  };

  it('gives the same canonical form for a meta string and a meta object, whatever the key casing and order', () => {
    const a = normalizeRecord({ ...base, meta: '{"clientip":"10.0.0.1","role":"CO","ouids":"a,b"}' });
    const b = normalizeRecord({ META: { Role: 'CO', ouids: 'a,b', clientIP: '10.0.0.1' }, STATUS: 'LUNA_RET_OK', action: 'LUNA_SIGN', actorid: 'c', resourceid: 's', source: base.source, Time: '2026-11-20T14:52:47.12Z' });
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(a.fields.canonical).toBe(b.fields.canonical);
    expect(b.fields).toMatchObject({ clientIp: '10.0.0.1', role: 'CO', objectIds: ['a', 'b'], partitionId: '1334049524932', metaRaw: null, metaMalformed: false });
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
    expect([counter.next(10, 'x'), counter.next(10, 'x'), counter.next(10, 'y'), counter.next(11, 'x')]).toEqual([0, 1, 0, 0]);
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
});

describe('RecordSplitter', () => {
  function split(chunks: string[]): { records: [string, number][]; rejects: [number, string][] } {
    const records: [string, number][] = [];
    const rejects: [number, string][] = [];
    const s = new RecordSplitter((text, line) => records.push([text, line]), (_raw, line, reason) => rejects.push([line, reason]));
    for (const c of chunks) s.feed(c);
    s.end();
    return { records, rejects };
  }

  it('splits JSON Lines across chunk boundaries with line numbers, skipping blank lines', () => {
    expect(split(['{"a":1}\r\n\n{"b"', ':2}\n{"c":3}'])).toEqual({ records: [['{"a":1}', 1], ['{"b":2}', 3], ['{"c":3}', 4]], rejects: [] });
  });

  it('splits a JSON array at top-level commas only, respecting strings and nesting', () => {
    const text = '\n[\n {"a":"x,]}","n":[1,2]},\n {"b":{"c":"\\"]"}}\n,{"broken": }\n]\n';
    expect(split([text.slice(0, 9), text.slice(9)])).toEqual({
      records: [['{"a":"x,]}","n":[1,2]}', 3], ['{"b":{"c":"\\"]"}}', 4], ['{"broken": }', 5]],
      rejects: [],
    });
  });

  it('reports an array that never closes', () => {
    expect(split(['[{"a":1},{"b":'])).toEqual({ records: [['{"a":1}', 1], ['{"b":', 1]], rejects: [[1, 'JSON array not closed: the input ended before "]"']] });
  });
});
