import type { ColumnType, Generated, Selectable } from 'kysely';

/** Timestamps are read as `Date`, written as `Date` or ISO strings. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** `audit_events`: one row per DPoD audit event, partitioned by month on `time`. */
export interface AuditEventsTable {
  id: Generated<string>;
  time: Timestamp;
  event_key: string;
  occurrence: Generated<number>;
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
  object_ids: Generated<string[]>;
  partition_serial: string | null;
  role: string | null;
  /** jsonb; null when the record had no meta. */
  meta: unknown;
  meta_raw: string | null;
  meta_malformed: Generated<boolean>;
  /** jsonb; null when the record had no unknown keys. */
  extra: unknown;
  ingest_run_id: string | null;
  /** The leaf hash the importer computed (only the sealer reads it; see src/integrity/ingest-leaf.ts). */
  leaf: ColumnType<Buffer | null, Buffer | null | undefined, never>;
  /** Digest of the input text the event was read from (see src/ingest/stored-lines.ts); null before migration 0015. */
  line_digest: ColumnType<string | null, string | null | undefined, never>;
}

/** `ingest_runs`: one row per ingest (an export window or a file). */
export interface IngestRunsTable {
  id: Generated<string>;
  kind: 'backfill' | 'follow' | 'import';
  source: string;
  window_from: Timestamp | null;
  window_to: Timestamp | null;
  export_job_id: string | null;
  state: Generated<'running' | 'succeeded' | 'failed'>;
  records_read: Generated<string>;
  inserted: Generated<string>;
  duplicates: Generated<string>;
  /** Of the duplicates, those recognised by their text without being parsed (src/ingest/stored-lines.ts). */
  recognized: Generated<string>;
  rejected: Generated<string>;
  malformed_meta: Generated<string>;
  bytes_read: Generated<string>;
  started_at: Generated<Date>;
  heartbeat_at: Generated<Date>;
  finished_at: Timestamp | null;
  error: string | null;
}

/** `ingest_checkpoints`: how far a named ingest stream has durably progressed. */
export interface IngestCheckpointsTable {
  name: string;
  position: Timestamp | null;
  detail: Generated<unknown>;
  run_id: string | null;
  updated_at: Generated<Date>;
}

/** `rejected_records`: input lines that could not become events, kept verbatim. */
export interface RejectedRecordsTable {
  id: Generated<string>;
  run_id: string;
  line_number: string | number;
  raw: string;
  reason: string;
  created_at: Generated<Date>;
  /** SHA-256 (hex) of `raw`: with `occurrence`, the line's identity (unique). */
  line_hash: string;
  /** Which of the identical bad lines of its input this is (0 = the first). */
  occurrence: Generated<number>;
  first_seen: Generated<Date>;
  last_seen: Generated<Date>;
  /** How many times the line was read (overlapping windows, re-imports, reruns). */
  seen_count: Generated<number>;
  /** The run that read it last (null once that run's row is gone). */
  last_run_id: string | null;
}

/** `integrity_seals`: one row per sealed (service, hour, version); never updated or deleted. */
export interface IntegritySealsTable {
  id: Generated<string>;
  service_id: string;
  period_start: Timestamp;
  version: number;
  event_count: number;
  /** Merkle root (hex) over the period's leaves. */
  root: string;
  /** The leaf hashes, 32 bytes each, in keyset order. */
  leaves: Buffer;
  /** `seal_hash` of the service's seal before this one (null for its first). */
  prev_hash: string | null;
  seal_hash: string;
  signature: string | null;
  key_fingerprint: string | null;
  sealed_at: Generated<Date>;
  /** The version of the same period this one replaces (late records), or null. */
  supersedes: string | null;
}

/** `integrity_retention`: each month boundary retention dropped events before (their seals report EXPIRED). */
export interface IntegrityRetentionTable {
  dropped_before: Timestamp;
  partitions: string[];
  applied_at: Generated<Date>;
}

/** `audit_rollups_hourly`: event counts per hour and dimension, maintained with every insert. */
export interface AuditRollupsHourlyTable {
  hour: Timestamp;
  service_id: string;
  client_id: string;
  action: string;
  status: string;
  role: string | null;
  count: string;
}

/** `audit_rollups_daily`: event counts per UTC day, service, action and status (kept by triggers on the hourly rollups). */
export interface AuditRollupsDailyTable {
  day: Timestamp;
  service_id: string;
  action: string;
  status: string;
  count: string;
}

/** `audit_rollups_daily_tenant`: the daily rollups summed over services (kept by triggers on the daily rollups). */
export interface AuditRollupsDailyTenantTable {
  day: Timestamp;
  action: string;
  status: string;
  count: string;
}

/** `audit_rollups_daily_client`: event counts per UTC day, service, client and status (kept by triggers on the hourly rollups). */
export interface AuditRollupsDailyClientTable {
  day: Timestamp;
  service_id: string;
  client_id: string;
  status: string;
  count: string;
}

/**
 * `audit_address_rollups_daily`: per UTC day, service, client and address prefix (IPv4 /24, IPv6 /64), the first and
 * last event time and the count (kept by ingest with the events; NEW_CLIENT_ADDRESS reads it).
 */
export interface AuditAddressRollupsDailyTable {
  day: Timestamp;
  service_id: string;
  client_id: string;
  prefix: string;
  first_time: Timestamp;
  last_time: Timestamp;
  count: string;
}

/** `findings`: what the detection rules raised (src/detect/), one row per episode, extended as it goes on. */
export interface FindingsTable {
  id: Generated<string>;
  fingerprint: string;
  rule: string;
  severity: string;
  status: Generated<string>;
  service_id: string;
  client_id: string | null;
  subject: string | null;
  first_seen: Timestamp;
  last_seen: Timestamp;
  count: number;
  summary: string;
  evidence: unknown;
  raised_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
  acknowledged_by: string | null;
  acknowledged_at: Timestamp | null;
  acknowledge_note: string | null;
}

/** `webhook_deliveries`: the outbox of new findings, one row per finding and webhook URL (src/webhooks/). */
export interface WebhookDeliveriesTable {
  id: Generated<string>;
  delivery_id: string;
  finding_id: string;
  url: string;
  status: Generated<'PENDING' | 'DELIVERED' | 'FAILED'>;
  attempts: Generated<number>;
  next_attempt_at: Generated<Timestamp>;
  last_attempt_at: Timestamp | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Generated<Timestamp>;
  delivered_at: Timestamp | null;
}

/** The whole database, mirroring `migrations/`. */
export interface Database {
  audit_events: AuditEventsTable;
  ingest_runs: IngestRunsTable;
  ingest_checkpoints: IngestCheckpointsTable;
  rejected_records: RejectedRecordsTable;
  integrity_seals: IntegritySealsTable;
  integrity_retention: IntegrityRetentionTable;
  audit_rollups_hourly: AuditRollupsHourlyTable;
  audit_rollups_daily: AuditRollupsDailyTable;
  audit_rollups_daily_tenant: AuditRollupsDailyTenantTable;
  audit_rollups_daily_client: AuditRollupsDailyClientTable;
  audit_address_rollups_daily: AuditAddressRollupsDailyTable;
  findings: FindingsTable;
  webhook_deliveries: WebhookDeliveriesTable;
}

export type IngestRunRow = Selectable<IngestRunsTable>;
