/** The DPoD platform + Audit Query API client. */
export { DpodClient, createDpodClient, MAX_PAGE_SIZE } from './dpod-client';
export type { DpodCallStat, DpodClientOptions, DpodClientHooks, WaitForExportOptions, ExportRequest } from './dpod-client';
export * from './errors';
export * from './types';
export { parseApiDate } from './dpod-mappers';
