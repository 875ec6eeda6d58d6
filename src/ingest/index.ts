/** Ingestion of DPoD audit exports into PostgreSQL: files, API windows, backfill, follower, retention. */
export { importFiles } from './import-files';
export { ingestWindow, type TimeWindow, type WindowOptions } from './ingest-window';
export { backfill, MAX_WINDOW_DAYS, type BackfillOptions } from './backfill';
export { startFollower, type Follower, type FollowerOptions } from './follower';
export { applyRetention, type RetentionOutcome } from './retention';
export type { IngestDeps, IngestOptions, AuditExportApi } from './ingest-deps';
export { formatRunSummary, type RunSummary } from './ingest-run';
export type { IngestProgress } from './progress-reporter';
export { normalizeRecord } from './record-normalizer';
export { eventKey } from './event-key';
export { parseAuditTime } from './audit-time';
export { registerIngestCommands } from './ingest.command';
