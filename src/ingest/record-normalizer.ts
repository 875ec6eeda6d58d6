import { isIP } from 'node:net';
import { parseAuditTime } from './audit-time';
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
const KNOWN_KEYS = new Set(['time', 'source', 'resourceid', 'actorid', 'tenantid', 'action', 'status', 'traceid', 'meta']);
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
  if (text === null || typeof v === 'boolean') return { reason: `field "${name}" must be a string, got ${JSON.stringify(v)}` };
  if (text.trim() === '') return { reason: `field "${name}" is empty` };
  return text;
}

function optionalText(v: unknown): string | null {
  const text = scalarText(v);
  return text === null || text === '' ? null : text;
}

/** A value PostgreSQL's `inet` accepts (an address, optionally with a prefix length), else null. */
export function toInet(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const text = v.trim();
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  if (address.includes('%')) return null;
  const family = isIP(address);
  if (family === 0) return null;
  if (slash >= 0) {
    const bits = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)) return null;
  }
  return text;
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

/** The object's entries under lower-cased keys (the first spelling wins; `__proto__` is left out). */
function lowerKeys(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    const l = lower(key);
    if (l !== '__proto__' && !Object.prototype.hasOwnProperty.call(out, l)) out[l] = obj[key];
  }
  return out;
}

interface MetaParts {
  meta: Record<string, unknown> | null;
  raw: string | null;
  malformed: boolean;
  /** What the canonical record holds for meta: the parsed object, or the raw text when malformed. */
  canonical: unknown;
}

function parseMeta(value: unknown): MetaParts {
  if (value === undefined || value === null) return { meta: null, raw: null, malformed: false, canonical: value ?? undefined };
  if (isPlainObject(value)) return { meta: value, raw: null, malformed: false, canonical: lowerKeys(value) };
  if (typeof value === 'string') {
    if (value.trim() === '') return { meta: null, raw: value, malformed: false, canonical: value };
    try {
      const parsed: unknown = JSON.parse(value);
      if (isPlainObject(parsed)) return { meta: parsed, raw: value, malformed: false, canonical: lowerKeys(parsed) };
    } catch {
      // fall through: malformed
    }
    return { meta: null, raw: value, malformed: true, canonical: value };
  }
  const raw = JSON.stringify(value);
  return { meta: null, raw, malformed: true, canonical: raw };
}

/**
 * Maps one parsed audit record to columns: keys matched case-insensitively, the time normalised to
 * UTC milliseconds, meta parsed (string or object) into typed fields, unknown keys kept in `extra`,
 * unknown actions and statuses kept as they are. Returns a reason when a required field is missing.
 */
export function normalizeRecord(record: unknown): NormalizeResult {
  if (!isPlainObject(record)) {
    return { ok: false, reason: `record is not a JSON object (got ${Array.isArray(record) ? 'an array' : record === null ? 'null' : typeof record})` };
  }
  const fields = lowerKeys(record);

  const timeValue = fields.time;
  if (timeValue === undefined || timeValue === null) return { ok: false, reason: 'missing field "time"' };
  if (typeof timeValue !== 'string') return { ok: false, reason: `field "time" must be a string, got ${JSON.stringify(timeValue)}` };
  const timeMs = parseAuditTime(timeValue);
  if (Number.isNaN(timeMs)) return { ok: false, reason: `field "time" is not a valid time: ${JSON.stringify(timeValue)}` };
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
  const metaFields: Record<string, unknown> = (meta.canonical !== null && typeof meta.canonical === 'object' ? meta.canonical : {}) as Record<string, unknown>;
  const partid = optionalText(metaFields.partid);

  let source = optionalText(fields.source);
  if (source === null) {
    if (partid === null) return { ok: false, reason: 'missing field "source" (and meta has no "partid" to derive it from)' };
    source = `${SOURCE_PREFIX}${partid}`;
  }
  const partitionId = source.toLowerCase().startsWith(SOURCE_PREFIX) && source.length > SOURCE_PREFIX.length
    ? source.slice(SOURCE_PREFIX.length)
    : (partid ?? source);

  let extra: Record<string, unknown> | null = null;
  const seen = new Set<string>();
  for (const key of Object.keys(record)) {
    const lowerKey = lower(key);
    // Unknown keys, and a second spelling of a known key (e.g. both `resourceID` and `resourceid`).
    if (!KNOWN_KEYS.has(lowerKey) || seen.has(lowerKey)) {
      extra ??= {};
      extra[key] = record[key];
    }
    seen.add(lowerKey);
  }

  const canonicalSource: Record<string, unknown> = { ...fields, time };
  if ('meta' in fields) canonicalSource.meta = meta.canonical;
  if (extra) {
    // Second spellings of a known key are part of the record too.
    for (const key of Object.keys(extra)) if (KNOWN_KEYS.has(key.toLowerCase())) canonicalSource[`${key.toLowerCase()}#dup`] = extra[key];
  }

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
      canonical: canonicalJson(canonicalSource),
    },
  };
}
