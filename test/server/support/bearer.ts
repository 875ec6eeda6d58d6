import { SignJWT } from 'jose';

/** What an HS256 test identity provider signs with. */
export interface TestIssuer {
  secret: string;
  issuer: string;
  audience: string;
  subject: string;
}

/** An `authorization` header carrying an HS256 JWT with `claims`, valid for ten minutes. */
export async function bearer(idp: TestIssuer, claims: Record<string, unknown>): Promise<Record<string, string>> {
  const jwt = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(idp.issuer)
    .setAudience(idp.audience)
    .setSubject(idp.subject)
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(idp.secret));
  return { authorization: `Bearer ${jwt}` };
}
