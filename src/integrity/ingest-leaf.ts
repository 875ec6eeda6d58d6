import { hash } from 'node:crypto';

/** What the importer knows of an event it is about to store (the shape of the normaliser's fields). */
export interface LeafSource {
  timeMs: number;
  source: string;
  partitionId: string;
  serviceId: string;
  clientId: string;
  tenantId: string | null;
  action: string;
  status: string;
  traceId: string | null;
  clientIp: string | null;
  hsmId: string | null;
  objectIds: string[];
  partitionSerial: string | null;
  role: string | null;
  meta: Record<string, unknown> | null;
  metaRaw: string | null;
  metaMalformed: boolean;
  extra: Record<string, unknown> | null;
}

/** Year 10000, in ms: PostgreSQL's timestamptz prints later (and BC) times differently; not predicted. */
const MAX_TIME_MS = 253_402_300_800_000;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const MASK_BITS = /^(?:3[0-2]|[12]?\d)$/;

/** `inet::text` of an address the normaliser accepted, for IPv4 only (`/32` added to a host); null if unsure. */
function inetText(ip: string): string | null {
  const slash = ip.indexOf('/');
  if (slash < 0) return IPV4.test(ip) ? `${ip}/32` : null;
  return IPV4.test(ip.slice(0, slash)) && MASK_BITS.test(ip.slice(slash + 1)) ? ip : null;
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** jsonb's key order: shorter first (in UTF-8 bytes), then bytewise. */
function jsonbKeyOrder(a: string, b: string): number {
  const la = byteLength(a);
  const lb = byteLength(b);
  if (la !== lb) return la - lb;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const ASCII = /^[\x20-\x7e]*$/;
/** Printable ASCII without `"` and `\`: JSON text is the string in quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** `JSON.stringify(s)`, without its cost for the usual identifier-like text. */
function jsonString(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

function jsonOrNull(s: string | null): string {
  return s === null ? 'null' : jsonString(s);
}

/** Sorted keys by the keys' order as given (records of one export share a handful of meta shapes). */
const sortedKeysCache = new Map<string, string[]>();

function asciiKeyOrder(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** A string as a JSON token, or (`embedded`) as that token inside another JSON string (quotes escaped again). */
function jsonToken(s: string, embedded: boolean): string {
  if (PLAIN.test(s)) return embedded ? `\\"${s}\\"` : `"${s}"`;
  return embedded ? JSON.stringify(JSON.stringify(s)).slice(1, -1) : JSON.stringify(s);
}

/**
 * The text PostgreSQL prints for `jsonb` parsed from `JSON.stringify(value)` (what the importer sends), or null
 * where that is not certain. jsonb keeps numbers as `numeric` and prints them back as written, so a number
 * `JSON.stringify` writes with an exponent (1e+21, 1e-7) is not predicted; keys are sorted shorter first, then
 * bytewise; separators are ", " and ": "; strings are escaped as `JSON.stringify` escapes them (the importer has
 * already refused NUL and lone surrogates, the only characters where the two differ). `embedded` returns the text
 * as it reads inside a JSON string (what `JSON.stringify(text).slice(1, -1)` would give), without a second pass.
 */
export function jsonbText(value: unknown, embedded = false): string | null {
  switch (typeof value) {
    case 'string':
      return jsonToken(value, embedded);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number': {
      if (!Number.isFinite(value)) return null;
      const s = JSON.stringify(value);
      return s.includes('e') ? null : s;
    }
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '';
        for (const item of value as unknown[]) {
          const t = jsonbText(item === undefined ? null : item, embedded);
          if (t === null) return null;
          out += out === '' ? t : `, ${t}`;
        }
        return `[${out}]`;
      }
      const record = value as Record<string, unknown>;
      const given = Object.keys(record);
      const signature = given.join('\u0000');
      let keys = sortedKeysCache.get(signature);
      if (keys === undefined) {
        keys = [...given].sort(given.every((k) => ASCII.test(k)) ? asciiKeyOrder : jsonbKeyOrder);
        if (sortedKeysCache.size < 1000) sortedKeysCache.set(signature, keys);
      }
      let out = '';
      for (const k of keys) {
        const v = record[k];
        if (v === undefined) continue;
        const t = jsonbText(v, embedded);
        if (t === null) return null;
        out += out === '' ? `${jsonToken(k, embedded)}: ${t}` : `, ${jsonToken(k, embedded)}: ${t}`;
      }
      return `{${out}}`;
    }
    default:
      return null;
  }
}

/**
 * The leaf hash (hex) an event will have once stored (`LEAF_HASH_SQL` over its stored columns), computed by the
 * importer from the values it sends, or null where PostgreSQL's re-printing of a value is not certain (an IPv6
 * address, a number in exponent notation, a time outside years 1970-9999): the sealer then computes that event's
 * leaf from its columns. Stored with the event so that sealing reads 32 bytes per event instead of recomputing
 * every leaf (docs/performance.md#integrity). The stored leaf is only the sealer's shortcut: `verify` always
 * recomputes leaves from the columns, so a wrong or forged stored leaf shows as a mismatch, never as a pass.
 * The text is `leafData()` of event-leaf.ts, built here without its generic cost: this is on the importer's hot
 * path (measured in bench/ingest.ts; test/integrity/stored-leaf.test.ts holds it to PostgreSQL's).
 */
export function ingestLeaf(f: LeafSource, eventKey: string, occurrence: number): string | null {
  if (!(f.timeMs > 0 && f.timeMs < MAX_TIME_MS && Number.isInteger(f.timeMs))) return null;
  let clientIp = 'null';
  if (f.clientIp !== null) {
    const ip = inetText(f.clientIp);
    if (ip === null) return null;
    clientIp = `"${ip}"`;
  }
  let meta = 'null';
  if (f.meta !== null) {
    const text = jsonbText(f.meta, true);
    if (text === null) return null;
    meta = `"${text}"`;
  }
  let extra = 'null';
  if (f.extra !== null) {
    const text = jsonbText(f.extra, true);
    if (text === null) return null;
    extra = `"${text}"`;
  }
  const { source, partitionId, serviceId, clientId, tenantId, action, status, traceId, hsmId } = f;
  const { objectIds, partitionSerial, role, metaRaw } = f;
  // One test of every text field at once (the usual case: all plain), else each field on its own.
  const plain = PLAIN.test(
    `${source}${partitionId}${serviceId}${clientId}${tenantId}${action}${status}${traceId}${hsmId}` +
      `${objectIds.join('')}${partitionSerial}${role}`,
  );
  const str = plain ? (s: string) => `"${s}"` : jsonString;
  const opt = plain ? (s: string | null) => (s === null ? 'null' : `"${s}"`) : jsonOrNull;
  let ids = '';
  for (const id of objectIds) ids += ids === '' ? str(id) : `,${str(id)}`;
  // A leaf's bytes are 0x00 then the text's UTF-8: U+0000 is that byte.
  const data =
    `\u0000[1, "${f.timeMs}000", "${eventKey.toLowerCase()}", ${occurrence}, ${str(source)}, ${str(partitionId)}, ` +
    `${str(serviceId)}, ${str(clientId)}, ${opt(tenantId)}, ${str(action)}, ${str(status)}, ${opt(traceId)}, ` +
    `${clientIp}, ${opt(hsmId)}, [${ids}], ${opt(partitionSerial)}, ${opt(role)}, ${meta}, ${jsonOrNull(metaRaw)}, ` +
    `${f.metaMalformed ? 'true' : 'false'}, ${extra}]`;
  return hash('sha256', data, 'hex');
}
