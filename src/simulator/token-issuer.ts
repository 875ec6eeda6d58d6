import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Claims of a simulator access token (shaped like a DPoD UAA token). */
export interface SimTokenClaims {
  jti: string;
  sub: string;
  client_id: string;
  scope: string[];
  zid: string;
  iss: string;
  iat: number;
  exp: number;
  /** Simulator-private: the issuing generation. */
  gen: number;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** Issues and checks JWT-shaped (HS256) access tokens; time comes from the simulator clock. */
export class TokenIssuer {
  private readonly key = randomBytes(32);
  /** Generation of tokens issued now; tokens of older generations are expired (see {@link expireAll}). */
  private generation = 0;

  constructor(
    private readonly issuer: string,
    private readonly tenantId: string,
    private readonly ttlSeconds: number,
    private readonly nowMs: () => number,
  ) {}

  /** Issues a token for a client; returns the OAuth2 token response body. */
  issue(clientId: string): {
    access_token: string;
    token_type: string;
    expires_in: number;
    scope: string;
    jti: string;
  } {
    const iat = Math.floor(this.nowMs() / 1000);
    const claims: SimTokenClaims = {
      jti: randomBytes(16).toString('hex'),
      sub: clientId,
      client_id: clientId,
      scope: ['dpod.tenant.api_appowner', `dpod.tuid.${this.tenantId}`],
      zid: this.tenantId,
      iss: this.issuer,
      iat,
      exp: iat + this.ttlSeconds,
      gen: this.generation,
    };
    const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const body = b64url(JSON.stringify(claims));
    const sig = createHmac('sha256', this.key).update(`${head}.${body}`).digest('base64url');
    return {
      access_token: `${head}.${body}.${sig}`,
      token_type: 'bearer',
      expires_in: this.ttlSeconds,
      scope: claims.scope.join(' '),
      jti: claims.jti,
    };
  }

  /** Checks a bearer token: 'ok', or why it is refused. */
  verify(token: string): 'ok' | 'invalid' | 'expired' {
    const parts = token.split('.');
    if (parts.length !== 3) return 'invalid';
    const expected = createHmac('sha256', this.key).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2]!, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
    let claims: SimTokenClaims;
    try {
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as SimTokenClaims;
    } catch {
      return 'invalid';
    }
    const now = this.nowMs() / 1000;
    if (claims.exp <= now || claims.gen !== this.generation) return 'expired';
    return 'ok';
  }

  /** Makes every token issued so far expire now (as if their lifetime had run out). */
  expireAll(): void {
    this.generation++;
  }
}
