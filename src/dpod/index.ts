/** The DPoD platform + Audit Query API client. */
export { DpodClient, MAX_PAGE_SIZE } from './dpod-client';
export { createDpodClient } from './create-dpod-client';
export type { DpodClientHooks } from './create-dpod-client';
export type { DpodCallStat, DpodClientOptions, WaitForExportOptions, ExportRequest } from './dpod-client';
export * from './errors';
export * from './types';
export { parseApiDate } from './dpod-mappers';
export { walkPages, type WalkPagesOptions } from './page-walker';
