/** Ingestion of DPoD audit exports into PostgreSQL: files, API windows, backfill, follower, retention. */
export { importFiles } from './import-files';
export type { IngestDeps, IngestOptions, AuditExportApi } from './ingest-deps';
export type { RunSummary } from './ingest-run';
export { formatRunSummary } from './ingest-run';
export type { IngestProgress } from './progress-reporter';
export { normalizeRecord } from './record-normalizer';
export { eventKey } from './event-key';
export { parseAuditTime } from './audit-time';
