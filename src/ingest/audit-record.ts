/** An audit event normalised for storage (one future row of `audit_events`). */
export interface NormalizedEvent {
  /** Epoch milliseconds (UTC). */
  timeMs: number;
  /** ISO-8601 UTC with milliseconds. */
  time: string;
  eventKey: string;
  occurrence: number;
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
  /** The parsed meta object (null when absent or malformed). */
  meta: Record<string, unknown> | null;
  /** The meta text as received when it came as a string (or an unusable non-object value). */
  metaRaw: string | null;
  metaMalformed: boolean;
  /** Top-level keys this program does not know, with their original names. */
  extra: Record<string, unknown> | null;
}

/** An input record that cannot become an event: kept verbatim in `rejected_records`. */
export interface RejectedInput {
  lineNumber: number;
  raw: string;
  reason: string;
}
