import { canonicalJson } from '../../src/ingest/canonical-json';
import { eventKey } from '../../src/ingest/event-key';
import { normalizeRecord } from '../../src/ingest/record-normalizer';

// Every stored event's key derives from these texts: a change here would make re-ingested exports look
// new and double them, and records recognised by the digest of their text (stored-lines.ts) would be counted under
// their old keys. A deliberate change needs a migration that re-keys stored events and nulls their `line_digest`
// (docs/ingest.md#recognising-stored-records). The expected values were produced by the first released implementation.
const RECORDS: unknown[] = [
  {
    time: '2026-11-20 14:52:47.120 UTC',
    source: 'thales/cloudhsm/1334049524932',
    resourceID: '10f2bbe4-a910-4978-bb53-e99ede966ba8',
    actorID: 'e238cea4-ce16-4836-b206-ab4cbd1d5b1c',
    tenantID: 't1',
    action: 'LUNA_SIGN',
    status: 'LUNA_RET_OK',
    traceID: 'abc',
    meta: '{"clientip":"10.0.0.1","hsmid":"134885","ouids":"0beb2b51fdd5","partid":"1334049524932","role":"CO"}',
  },
  {
    Time: '2026-11-20T14:52:47.12Z',
    SOURCE: 'thales/cloudhsm/1',
    resourceid: 's',
    actorid: 'c',
    action: 'LUNA_LOGIN',
    status: 'LUNA_RET_PIN_INCORRECT',
    meta: { Role: 'SO', '10': 1, '9': [1, { b: 2, a: null }], z: true },
    Region: 'eu',
    resourceID: 'dup',
  },
  {
    time: '2026-11-20 14:52:47 UTC',
    source: 'thales/cloudhsm/77',
    resourceID: 's',
    actorID: 'c',
    action: 'X',
    status: 'Y',
    meta: '{"partid":"77", "bad": ',
  },
  {
    time: '2026-11-20 14:52:47 UTC',
    source: 'x',
    resourceID: 's',
    actorID: 'c',
    action: 'X',
    status: 'Y',
    meta: 12,
    n: 1.5e300,
    s: 'é\u2028"\\',
  },
];
const EXPECTED: [canonical: string, key0: string, key3: string][] = [
  [
    '{"action":"LUNA_SIGN","actorid":"e238cea4-ce16-4836-b206-ab4cbd1d5b1c","meta":{"clientip":"10.0.0.1","hsmid":"134885","ouids":"0beb2b51fdd5","partid":"1334049524932","role":"CO"},"resourceid":"10f2bbe4-a910-4978-bb53-e99ede966ba8","source":"thales/cloudhsm/1334049524932","status":"LUNA_RET_OK","tenantid":"t1","time":"2026-11-20T14:52:47.120Z","traceid":"abc"}',
    '39f1c915-885d-58fb-5243-5d293b38b289',
    '0ce2c04e-c68c-4bb0-54d9-e5b875ab5314',
  ],
  [
    '{"action":"LUNA_LOGIN","actorid":"c","meta":{"9":[1,{"a":null,"b":2}],"10":1,"role":"SO","z":true},"region":"eu","resourceid":"s","resourceid#dup":"dup","source":"thales/cloudhsm/1","status":"LUNA_RET_PIN_INCORRECT","time":"2026-11-20T14:52:47.120Z"}',
    'e5ca257d-6104-a79a-986c-58e525e85f79',
    '71db9924-1c20-b6da-da75-86964bf5a90c',
  ],
  [
    '{"action":"X","actorid":"c","meta":"{\\"partid\\":\\"77\\", \\"bad\\": ","resourceid":"s","source":"thales/cloudhsm/77","status":"Y","time":"2026-11-20T14:52:47.000Z"}',
    'bec3144c-e78d-5e7f-d844-86f689ded166',
    '8f1df5eb-ecf9-0b8a-6b2c-b8a9b99f0854',
  ],
  [
    '{"action":"X","actorid":"c","meta":"12","n":1.5e+300,"resourceid":"s","s":"\u00e9\u2028\\"\\\\","source":"x","status":"Y","time":"2026-11-20T14:52:47.000Z"}',
    '94154c08-ee92-9cce-006f-2f326eb7e80a',
    '5225a5d2-18f0-dbd8-e444-50c25195c6c7',
  ],
];

/**
 * An independent statement of the definition, written out by hand: keys that are array indexes first in
 * numeric order (JavaScript objects enumerate them so), then the others sorted by UTF-16 code units;
 * undefined members and own "__proto__" keys left out (a sorted copy cannot hold them).
 */
function reference(value: unknown): string {
  const isIndex = (k: string) => /^(0|[1-9][0-9]*)$/.test(k) && Number(k) < 4294967295;
  const write = (v: unknown): string | undefined => {
    if (v === null || typeof v !== 'object') return JSON.stringify(v);
    if (Array.isArray(v)) return `[${v.map((item) => write(item) ?? 'null').join(',')}]`;
    const keys = Object.keys(v).filter((k) => k !== '__proto__');
    const indexes = keys.filter(isIndex).sort((x, y) => Number(x) - Number(y));
    const named = keys.filter((k) => !isIndex(k)).sort();
    const members = [...indexes, ...named].flatMap((k) => {
      const text = write((v as Record<string, unknown>)[k]);
      return text === undefined ? [] : [`${JSON.stringify(k)}:${text}`];
    });
    return `{${members.join(',')}}`;
  };
  return write(value) ?? 'null';
}

/** A small deterministic generator (mulberry32) so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEY_POOL = [
  'a',
  'B',
  'b',
  'z',
  '0',
  '9',
  '10',
  '01',
  '-1',
  '1.5',
  '4294967295',
  '4294967294',
  '__proto__',
  'é',
  '\u2028',
  'role',
  'Role',
  '',
];

function randomJson(next: () => number, depth: number): unknown {
  const pick = next();
  if (depth > 3 || pick < 0.45) {
    const scalars = [null, true, false, 0, -0, 1.5e300, 42, 'x', 'é"\\\n', '\ud800', ''];
    return scalars[Math.floor(next() * scalars.length)];
  }
  if (pick < 0.65) return Array.from({ length: Math.floor(next() * 4) }, () => randomJson(next, depth + 1));
  const text = `{${Array.from({ length: Math.floor(next() * 6) }, () => `${JSON.stringify(KEY_POOL[Math.floor(next() * KEY_POOL.length)])}:${JSON.stringify(randomJson(next, depth + 1))}`).join(',')}}`;
  return JSON.parse(text);
}

describe('canonical JSON and event keys', () => {
  it.each(RECORDS.map((r, i) => [i, r] as const))('record %i keeps its canonical text and keys', (i, record) => {
    const result = normalizeRecord(record);
    if (!result.ok) throw new Error(result.reason);
    const [canonical, key0, key3] = EXPECTED[i]!;
    expect(result.fields.canonical).toBe(canonical);
    expect(eventKey(result.fields.canonical, 0)).toBe(key0);
    expect(eventKey(result.fields.canonical, 3)).toBe(key3);
  });

  it('serialises 5,000 random JSON values exactly like a hand-written statement of the definition', () => {
    const next = random(20261125);
    for (let i = 0; i < 5000; i++) {
      const value = randomJson(next, 0);
      expect(canonicalJson(value)).toBe(reference(value));
    }
  });

  it('leaves out undefined members and prints undefined array items as null, like JSON.stringify', () => {
    const value = { b: undefined, a: [undefined, 1], c: { d: undefined } };
    expect(canonicalJson(value)).toBe('{"a":[null,1],"c":{}}');
    expect(canonicalJson(undefined)).toBe('null');
  });
});
