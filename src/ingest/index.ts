/** Ingestion of DPoD audit exports into PostgreSQL: files, API windows, backfill, follower, retention. */
export { importFiles } from './import-files';
export { ingestWindow } from './ingest-window';
export { backfill } from './backfill';
export { startFollower, type FollowerOptions } from './follower';
export { applyRetention } from './retention';
export type { AuditExportApi } from './ingest-deps';
export type { RunSummary } from './ingest-run';
