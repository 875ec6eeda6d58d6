import { isIP } from 'node:net';
import { parseAuditTime } from './audit-time';
import { recoverMetaFields } from './meta-recovery';
import { canonicalJson } from './canonical-json';

/** A record's fields mapped to columns, before its identity (occurrence, key) is assigned. */
export interface NormalizedFields {
  timeMs: number;
  time: string;
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
  /** Canonical JSON of the record: lower-cased sorted keys, normalised time, parsed meta. */
  canonical: string;
}

/** Outcome of {@link normalizeRecord}: the fields, or why the record cannot be stored. */
export type NormalizeResult = { ok: true; fields: NormalizedFields } | { ok: false; reason: string };

/** Top-level keys with a column of their own (lower-cased). */
const KNOWN_KEYS = new Set([
  'time',
  'source',
  'resourceid',
  'actorid',
  'tenantid',
  'action',
  'status',
  'traceid',
  'meta',
]);
/** Known keys whose column is optional text: a value it cannot hold (an object, an array) goes to `extra`. */
const OPTIONAL_TEXT_KEYS = new Set(['source', 'tenantid', 'traceid']);
const SOURCE_PREFIX = 'thales/cloudhsm/';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A scalar as text: strings as they are, finite numbers and booleans printed; anything else null. */
function scalarText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return String(v);
  return null;
}

function requiredText(fields: Record<string, unknown>, key: string, name: string): string | { reason: string } {
  const v = fields[key];
  if (v === undefined || v === null) return { reason: `missing field "${name}"` };
  const text = scalarText(v);
  if (text === null || typeof v === 'boolean')
    return { reason: `field "${name}" must be a string, got ${JSON.stringify(v)}` };
  if (text.trim() === '') return { reason: `field "${name}" is empty` };
  return text;
}

function optionalText(v: unknown): string | null {
  const text = scalarText(v);
  return text === null || text === '' ? null : text;
}

/** An IPv4 address with a port (`10.0.0.1:443`), or a bracketed IPv6 address with or without one (`[::1]:443`). */
const ADDRESS_WITH_PORT = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}|\[([^\]]+)\](?::\d{1,5})?)$/;

/**
 * A value PostgreSQL's `inet` accepts (an address, optionally with a prefix length), else null. The address
 * is taken out of a port (`10.0.0.1:443`, `[2001:db8::1]:443`), brackets or an IPv6 zone id (`fe80::1%eth0`):
 * `inet` holds none of those, and meta keeps the text as given.
 */
export function toInet(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const text = v.trim();
  const slash = text.indexOf('/');
  let address = slash < 0 ? text : text.slice(0, slash);
  if (address.charCodeAt(0) === 91 || (address.includes(':') && address.includes('.'))) {
    const m = ADDRESS_WITH_PORT.exec(address);
    if (m) address = m[1] ?? m[2]!;
  }
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);
  const family = isIP(address);
  if (family === 0) return null;
  if (slash < 0) return address;
  const bits = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)) return null;
  return `${address}/${bits}`;
}

function objectIdList(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.map(scalarText).filter((s): s is string => s !== null && s !== '');
  const text = scalarText(v);
  if (text === null) return [];
  return text.split(/[\s,;]+/).filter((s) => s !== '');
}

const lowerCache = new Map<string, string>();

/** `key.toLowerCase()`, memoised: records repeat the same few spellings millions of times. */
function lower(key: string): string {
  let l = lowerCache.get(key);
  if (l === undefined) {
    l = key.toLowerCase();
    if (lowerCache.size < 10_000) lowerCache.set(key, l);
  }
  return l;
}

/** A record or meta object with its keys folded to lower case. */
interface FoldedKeys {
  /** Values under lower-cased keys; a key spelt several ways holds the value chosen among them. */
  fields: Record<string, unknown>;
  /** Original keys whose value was not chosen (the other spellings of a key), or null when there are none. */
  others: Set<string> | null;
  /** What the canonical record holds: the same as `fields` unless some key is spelt twice or is `__proto__`. */
  canonical: Record<string, unknown>;
}

/**
 * The name of a key in the canonical record: lower-cased, with a leading "#" when it holds a "#" or is
 * "__proto__" (which a plain object cannot hold), so no key can pass for the marker of a second spelling.
 */
function canonicalName(lowerKey: string): string {
  return lowerKey.includes('#') || lowerKey === '__proto__' ? `#${lowerKey}` : lowerKey;
}

/**
 * Folds keys to lower case (keys are matched case-insensitively). The usual object, each key spelt once,
 * takes one pass. When a key is spelt several ways, every value is kept in the identity whatever the order:
 * the greatest (by canonical JSON text, non-null first) is the key's value, the others follow sorted as
 * `<key>#dup`, `<key>#dup2`, ... (so the first released form, one second spelling as `<key>#dup`, stays).
 */
function foldKeys(obj: Record<string, unknown>): FoldedKeys {
  const fields: Record<string, unknown> = {};
  let plain = true;
  for (const key of Object.keys(obj)) {
    const l = lower(key);
    if (l === '__proto__' || Object.prototype.hasOwnProperty.call(fields, l)) {
      plain = false;
      break;
    }
    fields[l] = obj[key];
  }
  return plain ? { fields, others: null, canonical: fields } : foldSpellings(obj);
}

function foldSpellings(obj: Record<string, unknown>): FoldedKeys {
  const groups = new Map<string, string[]>();
  for (const key of Object.keys(obj)) {
    const l = lower(key);
    const group = groups.get(l);
    if (group) group.push(key);
    else groups.set(l, [key]);
  }
  const fields: Record<string, unknown> = {};
  const canonical: Record<string, unknown> = {};
  const others = new Set<string>();
  const rank = (v: unknown) => `${v === null || v === undefined ? 0 : 1}${canonicalJson(v)}`;
  for (const [l, keys] of groups) {
    const name = canonicalName(l);
    if (keys.length === 1 && l !== '__proto__') {
      fields[l] = obj[keys[0]!];
      canonical[name] = obj[keys[0]!];
      continue;
    }
    const ranked = keys
      .map((key) => ({ key, rank: rank(obj[key]) }))
      .sort((a, b) => (a.rank < b.rank ? 1 : a.rank > b.rank ? -1 : 0));
    ranked.forEach(({ key }, i) => {
      if (i === 0 && l !== '__proto__') fields[l] = obj[key];
      else others.add(key);
      canonical[i === 0 ? name : `${name}#dup${i === 1 ? '' : i}`] = obj[key];
    });
  }
  return { fields, others: others.size > 0 ? others : null, canonical };
}

interface MetaParts {
  meta: Record<string, unknown> | null;
  raw: string | null;
  malformed: boolean;
  /** The parsed meta under lower-cased keys (empty when there is none). */
  fields: Record<string, unknown>;
  /** What the canonical record holds for meta: the parsed object, or the raw text when malformed. */
  canonical: unknown;
}

const NO_FIELDS: Record<string, unknown> = Object.freeze({});

function parseMeta(value: unknown): MetaParts {
  if (value === undefined || value === null)
    return { meta: null, raw: null, malformed: false, fields: NO_FIELDS, canonical: value ?? undefined };
  if (isPlainObject(value)) {
    const folded = foldKeys(value);
    return { meta: value, raw: null, malformed: false, fields: folded.fields, canonical: folded.canonical };
  }
  if (typeof value === 'string') {
    if (value.trim() === '') return { meta: null, raw: value, malformed: false, fields: NO_FIELDS, canonical: value };
    try {
      const parsed: unknown = JSON.parse(value);
      if (isPlainObject(parsed)) {
        const folded = foldKeys(parsed);
        return { meta: parsed, raw: value, malformed: false, fields: folded.fields, canonical: folded.canonical };
      }
    } catch {
      // fall through: malformed
    }
    // Kept raw and flagged; the known fields read out of the text still fill the typed columns.
    return { meta: null, raw: value, malformed: true, fields: recoverMetaFields(value), canonical: value };
  }
  const raw = JSON.stringify(value);
  return { meta: null, raw, malformed: true, fields: NO_FIELDS, canonical: raw };
}

/** Whether a known key's column can hold its value (else the value is kept in `extra`). */
function fitsColumn(lowerKey: string, v: unknown): boolean {
  return !OPTIONAL_TEXT_KEYS.has(lowerKey) || v === null || scalarText(v) !== null;
}

/** A `\u0000` or lone-surrogate escape as `JSON.stringify` writes them (not an escaped backslash before `u`). */
const UNSTORABLE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/;
/** A UTF-16 surrogate without its other half. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

function hasUnstorableJson(value: unknown): boolean {
  return UNSTORABLE_ESCAPE.test(JSON.stringify(value));
}

function storableText(text: string | null): boolean {
  return text === null || (!LONE_SURROGATE.test(text) && !text.includes('\0'));
}

const UNSTORABLE_REASON =
  'holds NUL (\\u0000) or an unpaired UTF-16 surrogate (\\udXXX), which PostgreSQL cannot store';

/**
 * Makes a normalised record storable when its JSON text holds `\u` escapes that PostgreSQL cannot store:
 * NUL (`\u0000`) or a lone surrogate. Meta holding one is treated as malformed (kept raw, flagged, the event
 * stored; its typed fields are kept where they can be); anywhere else the record cannot be stored as it is,
 * and the reason is returned. Only records whose text holds `\u` need this check: text decoded from UTF-8
 * holds neither otherwise.
 */
export function settleUnstorable(f: NormalizedFields): string | null {
  if (f.meta && hasUnstorableJson(f.meta)) {
    f.metaRaw ??= JSON.stringify(f.meta);
    f.meta = null;
    f.metaMalformed = true;
    if (!storableText(f.clientIp)) f.clientIp = null;
    if (!storableText(f.hsmId)) f.hsmId = null;
    if (!storableText(f.partitionSerial)) f.partitionSerial = null;
    if (!storableText(f.role)) f.role = null;
    f.objectIds = f.objectIds.filter(storableText);
  }
  if (f.metaRaw !== null && LONE_SURROGATE.test(f.metaRaw)) {
    f.metaRaw = f.metaRaw.replace(LONE_SURROGATES, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  }
  if (f.metaRaw !== null && f.metaRaw.includes('\0')) f.metaRaw = f.metaRaw.replace(/\0/g, '\\u0000');
  const texts = [
    f.source,
    f.partitionId,
    f.serviceId,
    f.clientId,
    f.tenantId,
    f.action,
    f.status,
    f.traceId,
    f.clientIp,
    f.hsmId,
    f.partitionSerial,
    f.role,
    ...f.objectIds,
  ];
  if (!texts.every(storableText)) return `a field ${UNSTORABLE_REASON}`;
  if (f.extra && hasUnstorableJson(f.extra)) return `an unknown field ${UNSTORABLE_REASON}`;
  return null;
}

/**
 * Maps one parsed audit record to columns: keys matched case-insensitively, the time normalised to
 * UTC milliseconds, meta parsed (string or object) into typed fields, unknown keys kept in `extra`,
 * unknown actions and statuses kept as they are. Returns a reason when a required field is missing.
 */
export function normalizeRecord(record: unknown): NormalizeResult {
  if (!isPlainObject(record)) {
    return {
      ok: false,
      reason: `record is not a JSON object (got ${Array.isArray(record) ? 'an array' : record === null ? 'null' : typeof record})`,
    };
  }
  const folded = foldKeys(record);
  const fields = folded.fields;

  const timeValue = fields.time;
  if (timeValue === undefined || timeValue === null) return { ok: false, reason: 'missing field "time"' };
  if (typeof timeValue !== 'string')
    return { ok: false, reason: `field "time" must be a string, got ${JSON.stringify(timeValue)}` };
  const timeMs = parseAuditTime(timeValue);
  if (Number.isNaN(timeMs))
    return { ok: false, reason: `field "time" is not a valid time: ${JSON.stringify(timeValue)}` };
  const time = new Date(timeMs).toISOString();

  const action = requiredText(fields, 'action', 'action');
  if (typeof action !== 'string') return { ok: false, ...action };
  const status = requiredText(fields, 'status', 'status');
  if (typeof status !== 'string') return { ok: false, ...status };
  const serviceId = requiredText(fields, 'resourceid', 'resourceID');
  if (typeof serviceId !== 'string') return { ok: false, ...serviceId };
  const clientId = requiredText(fields, 'actorid', 'actorID');
  if (typeof clientId !== 'string') return { ok: false, ...clientId };

  const meta = parseMeta(fields.meta);
  const metaFields = meta.fields;
  const partid = optionalText(metaFields.partid);

  let source = optionalText(fields.source);
  if (source === null) {
    if (partid === null)
      return { ok: false, reason: 'missing field "source" (and meta has no "partid" to derive it from)' };
    source = `${SOURCE_PREFIX}${partid}`;
  }
  const partitionId =
    source.toLowerCase().startsWith(SOURCE_PREFIX) && source.length > SOURCE_PREFIX.length
      ? source.slice(SOURCE_PREFIX.length)
      : (partid ?? source);

  // Unknown keys, other spellings of a known key (e.g. both `resourceID` and `resourceid`), and known
  // optional fields whose value no text column can hold (an object for `tenantID`), under their own spelling.
  let extra: Record<string, unknown> | null = null;
  for (const key of Object.keys(record)) {
    const lowerKey = lower(key);
    if (!KNOWN_KEYS.has(lowerKey) || folded.others?.has(key) || !fitsColumn(lowerKey, record[key])) {
      extra ??= {};
      // Defined, not assigned: an own "__proto__" key is kept like any other.
      Object.defineProperty(extra, key, { value: record[key], enumerable: true, writable: true, configurable: true });
    }
  }

  const canonicalSource: Record<string, unknown> = { ...folded.canonical, time };
  if ('meta' in fields) canonicalSource.meta = meta.canonical;

  return {
    ok: true,
    fields: {
      timeMs,
      time,
      source,
      partitionId,
      serviceId,
      clientId,
      tenantId: optionalText(fields.tenantid),
      action,
      status,
      traceId: optionalText(fields.traceid),
      clientIp: toInet(metaFields.clientip),
      hsmId: optionalText(metaFields.hsmid),
      objectIds: objectIdList(metaFields.ouids),
      partitionSerial: partid,
      role: optionalText(metaFields.role),
      meta: meta.meta,
      metaRaw: meta.raw,
      metaMalformed: meta.malformed,
      extra,
      // An ordinary record (each key spelt once) keeps exactly the canonical text it always had, "#" in its keys
      // included. Known gap: a record with a key spelt twice can still read like an ordinary one holding a literal
      // "<key>#dup" key with the same values (as in the first released form, which these keys must keep).
      canonical: canonicalJson(canonicalSource),
    },
  };
}
