/**
 * An event's sealed fields, as the store holds them (every typed column, the meta as PostgreSQL's jsonb text, the
 * raw meta, the unknown keys): a change to any of them changes the event's leaf. The surrogate `id` is not sealed
 * (it only orders events of the same microsecond). This is also the line format of an events file checked
 * offline (`dpod-audit verify --digest --events`): one JSON object per line with these keys.
 */
export interface SealedEvent {
  /** Microseconds since the epoch, as text. */
  time_us: string;
  event_key: string;
  occurrence: number;
  source: string;
  partition_id: string;
  service_id: string;
  client_id: string;
  tenant_id: string | null;
  action: string;
  status: string;
  trace_id: string | null;
  client_ip: string | null;
  hsm_id: string | null;
  object_ids: string[];
  partition_serial: string | null;
  role: string | null;
  /** `meta::text` (jsonb's own normalised text), or null. */
  meta: string | null;
  meta_raw: string | null;
  meta_malformed: boolean;
  /** `extra::text`, or null. */
  extra: string | null;
}

/**
 * The canonical text of an event's leaf: a JSON array of its sealed fields in a fixed order, elements separated by
 * ", " (as PostgreSQL's `json_build_array` prints it, which computes the same text in period-leaves.ts).
 */
export function leafData(e: SealedEvent): string {
  const fields: unknown[] = [
    1,
    e.time_us,
    e.event_key,
    e.occurrence,
    e.source,
    e.partition_id,
    e.service_id,
    e.client_id,
    e.tenant_id,
    e.action,
    e.status,
    e.trace_id,
    e.client_ip,
    e.hsm_id,
    e.object_ids,
    e.partition_serial,
    e.role,
    e.meta,
    e.meta_raw,
    e.meta_malformed,
    e.extra,
  ];
  return `[${fields.map((f) => JSON.stringify(f ?? null)).join(', ')}]`;
}
