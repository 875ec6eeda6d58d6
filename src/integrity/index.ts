/** Seals over the stored events (chained, optionally signed Merkle roots per service and hour) and their verification. */
export { sealClosedPeriods, type SealOutcome } from './sealer';
export { verifyStore, type VerifyReport, type PeriodReport } from './verifier';
export { closedBefore, DEFAULT_SEAL_GRACE_SECONDS } from './seal-record';
export type { SigningKey } from './signing-key';
