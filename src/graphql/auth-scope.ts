/** Who is asking: `serviceIds` confines the caller to those services on every path (null = unrestricted). */
export interface AuthScope {
  subject: string | null;
  serviceIds: readonly string[] | null;
  /** May acknowledge findings: the token has the scope `audit:triage` (always, without authentication). */
  triage?: boolean;
  /** When the token expires (epoch ms), if it does: a long-lived subscription ends then. */
  expiresAt?: number | null;
}

/** The scope of a caller who may read everything (AUTH_MODE=none, or a token without a `services` claim). */
export const UNRESTRICTED: AuthScope = Object.freeze({ subject: null, serviceIds: null, triage: true });

/** True when the caller may see data of `serviceId`. */
export function mayReadService(auth: AuthScope, serviceId: string): boolean {
  return auth.serviceIds === null || auth.serviceIds.includes(serviceId);
}
