import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** A public key as seals and digests name it. */
export interface PublicKeyInfo {
  /** SPKI PEM. */
  pem: string;
  /** SHA-256 (hex) of the key's SPKI DER encoding. */
  fingerprint: string;
}

/** The sealing key: signs seal hashes with Ed25519. */
export interface SigningKey {
  publicKey: PublicKeyInfo;
  sign(sealHash: string): string;
}

function publicInfo(key: KeyObject): PublicKeyInfo {
  const der = key.export({ type: 'spki', format: 'der' });
  return {
    pem: key.export({ type: 'spki', format: 'pem' }).toString(),
    fingerprint: createHash('sha256').update(der).digest('hex'),
  };
}

/**
 * Reads `INTEGRITY_SIGNING_KEY`: an Ed25519 private key as PKCS#8 PEM or as a JWK (`{"kty":"OKP","crv":"Ed25519",
 * "d":...,"x":...}`). Throws an Error saying what is wrong with it.
 */
export function parseSigningKey(text: string): SigningKey {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    key = trimmed.startsWith('{')
      ? createPrivateKey({ key: JSON.parse(trimmed) as import('node:crypto').JsonWebKey, format: 'jwk' })
      : createPrivateKey(trimmed.replace(/\\n/g, '\n'));
  } catch (err) {
    throw new Error(`is not a private key in PEM or JWK form: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`must be an Ed25519 key, got ${key.asymmetricKeyType}`);
  const pub = createPublicKey(key);
  return {
    publicKey: publicInfo(pub),
    sign: (sealHash) => sign(null, Buffer.from(sealHash, 'hex'), key).toString('base64'),
  };
}

/** Reads a public key (SPKI PEM, or a JWK with `x`). */
export function parsePublicKey(text: string): PublicKeyInfo & { key: KeyObject } {
  const trimmed = text.trim();
  const key = trimmed.startsWith('{')
    ? createPublicKey({ key: JSON.parse(trimmed) as import('node:crypto').JsonWebKey, format: 'jwk' })
    : createPublicKey(trimmed);
  return { ...publicInfo(key), key };
}

/** Whether `signature` (base64) is the Ed25519 signature of `sealHash` by `key`. */
export function verifySignature(key: KeyObject, sealHash: string, signature: string): boolean {
  try {
    return verify(null, Buffer.from(sealHash, 'hex'), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
