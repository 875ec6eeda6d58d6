import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../../config';
import { httpStatusOf, type ErrorCode } from '../../error-codes';
import { UNRESTRICTED, type AuthScope } from '../../graphql/auth-scope';

export type { AuthScope };

/** The scope a token must carry to read audit data. */
export const REQUIRED_SCOPE = 'audit:read';
/** The scope a token must also carry to acknowledge findings. */
export const TRIAGE_SCOPE = 'audit:triage';

/** Algorithms accepted from a JWKS (asymmetric only; `none` and HMAC are never taken from a key set). */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** A refused request: 401 (no or bad credentials) or 403 (valid token, not allowed). */
export class AuthError extends Error {
  /** The code's HTTP status in the registry: 401 or 403. */
  readonly status: number;

  constructor(
    readonly code: Extract<ErrorCode, 'UNAUTHENTICATED' | 'FORBIDDEN'>,
    message: string,
  ) {
    super(message);
    this.name = 'AuthError';
    this.status = httpStatusOf(code);
  }
}

/** Turns an `Authorization` header into an {@link AuthScope} or throws {@link AuthError}. */
export type Authenticator = (authorization: string | undefined) => Promise<AuthScope>;

/** Builds the authenticator for `config.auth`: everyone in `none` mode, verified bearer JWTs in `jwt` mode. */
export function createAuthenticator(auth: Config['auth']): Authenticator {
  if (auth.mode === 'none') return () => Promise.resolve(UNRESTRICTED);
  const { issuer, audience } = auth;
  if (!issuer || !audience || (!auth.jwtSecret && !auth.jwksUrl)) {
    throw new Error('AUTH_MODE=jwt needs JWT_ISSUER, JWT_AUDIENCE and JWT_SECRET or JWT_JWKS_URL');
  }
  const verify = auth.jwtSecret
    ? (token: string) =>
        jwtVerify(token, new TextEncoder().encode(auth.jwtSecret), {
          issuer,
          audience,
          algorithms: ['HS256'],
          requiredClaims: ['exp'],
        })
    : (() => {
        const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(auth.jwksUrl!));
        return (token: string) =>
          jwtVerify(token, jwks, { issuer, audience, algorithms: JWKS_ALGORITHMS, requiredClaims: ['exp'] });
      })();

  return async (authorization) => {
    const match = /^Bearer\s+([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*\.[A-Za-z0-9\-_]*)\s*$/i.exec(authorization ?? '');
    if (!authorization)
      throw new AuthError('UNAUTHENTICATED', 'Authentication required: send "Authorization: Bearer <JWT>".');
    const token = match?.[1];
    if (!token) throw new AuthError('UNAUTHENTICATED', 'Malformed Authorization header: expected "Bearer <JWT>".');
    let payload: JWTPayload;
    try {
      ({ payload } = await verify(token));
    } catch (err) {
      throw new AuthError('UNAUTHENTICATED', `Invalid token: ${describeJoseError(err)}.`);
    }
    const scopes = scopesOf(payload);
    if (!scopes.includes(REQUIRED_SCOPE)) {
      throw new AuthError('FORBIDDEN', `Insufficient scope: the token needs "${REQUIRED_SCOPE}".`);
    }
    return {
      subject: typeof payload.sub === 'string' ? payload.sub : null,
      serviceIds: servicesOf(payload),
      triage: scopes.includes(TRIAGE_SCOPE),
      expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : null,
    };
  };
}

/** Reads `scope` (space-separated, OAuth 2) or `scp` (array or string). */
function scopesOf(payload: JWTPayload): string[] {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === 'string') return raw.split(/\s+/).filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === 'string');
  return [];
}

/** Reads the optional `services` claim; anything but an array of strings is a bad token. */
function servicesOf(payload: JWTPayload): readonly string[] | null {
  const raw = payload.services;
  if (raw === undefined) return null;
  if (!Array.isArray(raw) || !raw.every((s) => typeof s === 'string')) {
    throw new AuthError('UNAUTHENTICATED', 'Invalid token: the "services" claim must be an array of service ids.');
  }
  return Object.freeze([...new Set(raw)]);
}

/** A short, safe reason (jose messages name the claim; never echo the token). */
function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim "${err.claim}" check failed (${err.reason})`;
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'signing algorithm not allowed';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'no matching key in the key set';
  if (err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JWSInvalid) return 'malformed token';
  return 'verification failed';
}
