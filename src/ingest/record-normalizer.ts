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

function requiredText(fields: Map<string, unknown>, key: string, name: string): string | { reason: string } {
  const v = fields.get(key);
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

function lowerKeys(obj: Record<string, unknown>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const key of Object.keys(obj)) {
    const lower = key.toLowerCase();
    if (!out.has(lower)) out.set(lower, obj[key]);
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
  if (isPlainObject(value)) return { meta: value, raw: null, malformed: false, canonical: Object.fromEntries(lowerKeys(value)) };
  if (typeof value === 'string') {
    if (value.trim() === '') return { meta: null, raw: value, malformed: false, canonical: value };
    try {
      const parsed: unknown = JSON.parse(value);
      if (isPlainObject(parsed)) return { meta: parsed, raw: value, malformed: false, canonical: Object.fromEntries(lowerKeys(parsed)) };
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

  const timeValue = fields.get('time');
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

  const meta = parseMeta(fields.get('meta'));
  const metaFields = meta.meta ? lowerKeys(meta.meta) : new Map<string, unknown>();
  const partid = optionalText(metaFields.get('partid'));

  let source = optionalText(fields.get('source'));
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
    const lower = key.toLowerCase();
    // Unknown keys, and a second spelling of a known key (e.g. both `resourceID` and `resourceid`).
    if (!KNOWN_KEYS.has(lower) || seen.has(lower)) {
      extra ??= {};
      extra[key] = record[key];
    }
    seen.add(lower);
  }

  const canonicalSource: Record<string, unknown> = {};
  for (const [key, value] of fields) canonicalSource[key] = value;
  canonicalSource.time = time;
  if (fields.has('meta')) canonicalSource.meta = meta.canonical;
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
      tenantId: optionalText(fields.get('tenantid')),
      action,
      status,
      traceId: optionalText(fields.get('traceid')),
      clientIp: toInet(metaFields.get('clientip')),
      hsmId: optionalText(metaFields.get('hsmid')),
      objectIds: objectIdList(metaFields.get('ouids')),
      partitionSerial: partid,
      role: optionalText(metaFields.get('role')),
      meta: meta.meta,
      metaRaw: meta.raw,
      metaMalformed: meta.malformed,
      extra,
      canonical: canonicalJson(canonicalSource),
    },
  };
}
