/** Seals over the stored events (chained, optionally signed Merkle roots per service and hour) and their verification. */
export { sealClosedPeriods } from './sealer';
export { verifyStore, type VerifyReport } from './verifier';
export { closedBefore } from './seal-record';
export type { SigningKey } from './signing-key';
