import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthScope } from '../graphql/auth-scope';
import { HttpError } from '../server/http/http-errors';

/** How long a signed export link stays valid (like DPoD's own signed export URLs, short). */
export const EXPORT_LINK_TTL_SECONDS = 15 * 60;

/** What a link grants: one export request, under the scope of the caller who asked for it, until `exp`. */
export interface ExportGrant {
  /** The export request's JSON (format, order, filter), as /export reads it. */
  request: unknown;
  /** The asking caller's services (null: all) and subject. */
  services: readonly string[] | null;
  subject: string | null;
  /** Expiry, epoch seconds. */
  exp: number;
}

/**
 * Signs and checks export links: `/export?link=<payload>&sig=<HMAC-SHA256>`, the payload base64url JSON of an
 * {@link ExportGrant}. The key is `EXPORT_LINK_SECRET`; without it each process draws its own at start, so a link then
 * works only on the replica that made it (set the variable when several replicas serve behind one address).
 */
export class ExportLinkSigner {
  private readonly key: Buffer;

  constructor(secret: string | undefined) {
    this.key = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  }

  /** The path and query of a link granting `request` to `auth`'s scope for `ttlSeconds`. */
  sign(request: unknown, auth: AuthScope, ttlSeconds = EXPORT_LINK_TTL_SECONDS): { path: string; expiresAt: Date } {
    const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
    const grant: ExportGrant = { request, services: auth.serviceIds, subject: auth.subject, exp };
    const payload = Buffer.from(JSON.stringify(grant), 'utf8').toString('base64url');
    const params = new URLSearchParams({ link: payload, sig: this.mac(payload) });
    return { path: `/export?${params.toString()}`, expiresAt: new Date(exp * 1000) };
  }

  /** The grant of a link, or a 403 naming why not (altered, expired). */
  verify(payload: string, sig: string): ExportGrant {
    const expected = Buffer.from(this.mac(payload), 'hex');
    const given = /^[0-9a-f]{64}$/.test(sig) ? Buffer.from(sig, 'hex') : Buffer.alloc(0);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new HttpError(
        'FORBIDDEN',
        'The export link is not valid: its signature does not match (altered or not ours).',
      );
    const grant = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as ExportGrant;
    if (typeof grant.exp !== 'number' || grant.exp * 1000 <= Date.now())
      throw new HttpError('FORBIDDEN', 'The export link has expired: ask for a new one (exportLink).');
    return grant;
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(`dpod-audit export link\n${payload}`).digest('hex');
  }
}
