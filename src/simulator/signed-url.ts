import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Signs and checks download URLs the way a pre-signed object-store URL works: an expiry and an HMAC over path + expiry. */
export class UrlSigner {
  private readonly key = randomBytes(32);

  constructor(private readonly nowMs: () => number) {}

  private signature(path: string, expires: number): string {
    return createHmac('sha256', this.key).update(`GET\n${path}\n${expires}`).digest('hex');
  }

  /** Signs `path` (absolute path of `baseUrl`), valid for `ttlSeconds`; returns the full URL. */
  sign(baseUrl: string, path: string, ttlSeconds: number): string {
    const expires = Math.floor(this.nowMs() / 1000) + ttlSeconds;
    return `${baseUrl}${path}?X-Sim-Expires=${expires}&X-Sim-Signature=${this.signature(path, expires)}`;
  }

  /** Checks a request's path and query: 'ok', or why it is refused. */
  verify(path: string, query: URLSearchParams): 'ok' | 'bad-signature' | 'expired' {
    const expires = Number(query.get('X-Sim-Expires'));
    const given = query.get('X-Sim-Signature') ?? '';
    if (!Number.isInteger(expires) || !/^[0-9a-f]{64}$/.test(given)) return 'bad-signature';
    const expected = Buffer.from(this.signature(path, expires), 'hex');
    if (!timingSafeEqual(expected, Buffer.from(given, 'hex'))) return 'bad-signature';
    if (expires <= this.nowMs() / 1000) return 'expired';
    return 'ok';
  }
}
