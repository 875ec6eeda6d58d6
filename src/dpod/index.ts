/** The DPoD platform + Audit Query API client. */
export { DpodClient, MAX_PAGE_SIZE } from './dpod-client';
export { createDpodClient } from './create-dpod-client';
export type { DpodClientHooks } from './create-dpod-client';
export type { DpodClientOptions } from './dpod-client';
export * from './errors';
export * from './types';
export { walkPages } from './page-walker';
