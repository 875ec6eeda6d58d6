import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type KeyLike } from 'jose';
import { AuthError, createAuthenticator, type Authenticator } from '../../src/server/auth/authenticator';

const ISSUER = 'https://idp.jwks.test/';
const AUDIENCE = 'dpod-audit-gateway';

let jwksServer: Server;
let authenticate: Authenticator;
let privateKey: KeyLike;
let publicPem: string;
let jwksRequests = 0;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  publicPem = await exportSPKI(pair.publicKey);
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwksServer = createServer((_req, res) => {
    jwksRequests++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  const { port } = jwksServer.address() as AddressInfo;
  authenticate = createAuthenticator({
    mode: 'jwt',
    jwtSecret: undefined,
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    issuer: ISSUER,
    audience: AUDIENCE,
  });
});

afterAll(async () => {
  await new Promise((r) => jwksServer.close(r));
});

const sign = (claims: Record<string, unknown>, kid = 'k1') =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('svc-reader')
    .setExpirationTime('5m')
    .sign(privateKey);

it('accepts an RS256 token whose key is in the JWKS and reads its services claim', async () => {
  const scope = await authenticate(`Bearer ${await sign({ scope: 'audit:read', services: ['a', 'b'] })}`);
  expect(scope).toEqual({
    subject: 'svc-reader',
    serviceIds: ['a', 'b'],
    triage: false,
    expiresAt: expect.any(Number) as unknown,
  });
  // The token's exp claim (five minutes), in epoch ms.
  expect(scope.expiresAt! - Date.now()).toBeGreaterThan(4 * 60_000);
  expect(scope.expiresAt! - Date.now()).toBeLessThanOrEqual(5 * 60_000);
  expect(jwksRequests).toBe(1);
});

it('grants acknowledging findings to a token that also has the scope audit:triage (scope or scp)', async () => {
  expect(await authenticate(`Bearer ${await sign({ scope: 'audit:read audit:triage' })}`)).toEqual({
    subject: 'svc-reader',
    serviceIds: null,
    triage: true,
    expiresAt: expect.any(Number) as unknown,
  });
  expect((await authenticate(`Bearer ${await sign({ scp: ['audit:read', 'audit:triage'] })}`)).triage).toBe(true);
  await expect(authenticate(`Bearer ${await sign({ scope: 'audit:triage' })}`)).rejects.toThrow(/audit:read/);
});

it('refuses a token signed by a key not in the set, and an HS256 token keyed with the public key (algorithm confusion)', async () => {
  const other = await generateKeyPair('RS256');
  const foreign = await new SignJWT({ scope: 'audit:read' })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime('5m')
    .sign(other.privateKey);
  await expect(authenticate(`Bearer ${foreign}`)).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
  const confused = await new SignJWT({ scope: 'audit:read' })
    .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(publicPem));
  const err = await authenticate(`Bearer ${confused}`).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AuthError);
  expect((err as AuthError).message).toBe('Invalid token: signing algorithm not allowed.');
});

it('refuses a token that is not valid yet (nbf) and one without exp', async () => {
  const future = await new SignJWT({ scope: 'audit:read' })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setNotBefore('10m')
    .setExpirationTime('20m')
    .sign(privateKey);
  await expect(authenticate(`Bearer ${future}`)).rejects.toThrow(/claim "nbf" check failed/);
  const eternal = await new SignJWT({ scope: 'audit:read' })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .sign(privateKey);
  await expect(authenticate(`Bearer ${eternal}`)).rejects.toThrow(/claim "exp" check failed/);
});
