import { badInput } from '../errors';

/** The success status. */
const RET_OK = 'LUNA_RET_OK';

/** The parsed meta section of an event. */
export interface AuditEventMeta {
  clientIp: string | null;
  hsmId: string | null;
  objectIds: string[];
  partitionSerial: string | null;
  role: string | null;
  malformed: boolean;
  raw: string | null;
}

/** An audit event as the GraphQL layer sees it (not a database row). */
export interface AuditEvent {
  /** Opaque global id (see {@link encodeAuditEventId}). */
  id: string;
  /** Keyset position: exact time in microseconds and the database id. */
  position: EventPosition;
  time: Date;
  source: string;
  partitionId: string;
  serviceId: string;
  clientId: string;
  tenantId: string | null;
  traceId: string | null;
  action: string;
  status: string;
  succeeded: boolean;
  meta: AuditEventMeta;
}

/** The columns selected for an event: `time_us` (exact microseconds) is both the keyset position and the time. */
export interface AuditEventSqlRow {
  id: string;
  time_us: string;
  source: string;
  partition_id: string;
  service_id: string;
  client_id: string;
  tenant_id: string | null;
  trace_id: string | null;
  action: string;
  status: string;
  client_ip: string | null;
  hsm_id: string | null;
  object_ids: string[] | null;
  partition_serial: string | null;
  role: string | null;
  meta_malformed: boolean;
  meta_raw: string | null;
}

/** Maps a selected row to an {@link AuditEvent}. */
export function rowToAuditEvent(row: AuditEventSqlRow): AuditEvent {
  const position = { timeUs: row.time_us, id: row.id };
  return {
    id: encodeAuditEventId(position),
    position,
    time: microsToDate(row.time_us),
    source: row.source,
    partitionId: row.partition_id,
    serviceId: row.service_id,
    clientId: row.client_id,
    tenantId: row.tenant_id,
    traceId: row.trace_id,
    action: row.action,
    status: row.status,
    succeeded: row.status === RET_OK,
    meta: {
      clientIp: row.client_ip,
      hsmId: row.hsm_id,
      objectIds: row.object_ids ?? [],
      partitionSerial: row.partition_serial,
      role: row.role,
      malformed: row.meta_malformed,
      raw: row.meta_raw,
    },
  };
}

/** A keyset position: exact time in microseconds and the tie-breaking id. */
export interface EventPosition {
  timeUs: string;
  id: string;
}

/**
 * The Date (millisecond precision) of epoch microseconds, truncated as pg's own timestamptz parser
 * truncates: reading `time_us` alone spares parsing a second timestamp text per row.
 */
export function microsToDate(us: string): Date {
  return new Date(us.length > 3 ? Number(us.slice(0, -3)) : 0);
}

/** Formats epoch microseconds as an exact ISO-8601 UTC timestamp PostgreSQL parses losslessly. */
export function microsToIso(us: string): string {
  const big = BigInt(us);
  const secs = big / 1_000_000n;
  const frac = big % 1_000_000n;
  const base = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  return `${base}.${frac.toString().padStart(6, '0')}Z`;
}

const GLOBAL_ID_PREFIX = 'AuditEvent:';
const POSITION = /^(\d{1,17}):(\d{1,19})$/;

/** Parses `<micros>:<id>`; null when malformed. */
export function parsePosition(text: string): EventPosition | null {
  const [, micros, idText] = POSITION.exec(text) ?? [];
  if (micros === undefined || idText === undefined) return null;
  const us = BigInt(micros);
  const id = BigInt(idText);
  // Years 1970..9999 only: a bigger number cannot be a real event time.
  if (us > 253_402_300_799_999_999n) return null;
  if (id > 9_223_372_036_854_775_807n) return null;
  return { timeUs: us.toString(), id: id.toString() };
}

/** The opaque global id of an event: it carries the time, so a lookup touches one partition. */
export function encodeAuditEventId(position: EventPosition): string {
  return Buffer.from(`${GLOBAL_ID_PREFIX}${position.timeUs}:${position.id}`, 'utf8').toString('base64url');
}

/** Decodes an id made by {@link encodeAuditEventId}; throws BAD_USER_INPUT otherwise. */
export function decodeAuditEventId(id: string): EventPosition {
  const text = /^[A-Za-z0-9_-]{1,120}$/.test(id) ? Buffer.from(id, 'base64url').toString('utf8') : '';
  const position = text.startsWith(GLOBAL_ID_PREFIX) ? parsePosition(text.slice(GLOBAL_ID_PREFIX.length)) : null;
  if (!position)
    throw badInput(`"${id.slice(0, 80)}" is not an audit event id: use the id field of an AuditEvent`, 'id');
  return position;
}
