import { createHash } from 'node:crypto';

// RFC 6962 (Certificate Transparency) hashing: a leaf is SHA-256(0x00 || data), an inner node
// SHA-256(0x01 || left || right), so no leaf can pass for a node. The tree splits at the largest power of two
// below its size, as RFC 6962 does, so a proof is at most log2(n) hashes.

function sha256(...parts: Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

/** The leaf hash of a leaf's canonical bytes. */
export function leafHash(data: string): Buffer {
  return sha256(LEAF, Buffer.from(data, 'utf8'));
}

function nodeHash(left: Buffer, right: Buffer): Buffer {
  return sha256(NODE, left, right);
}

function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The Merkle root of leaf hashes (in order); the empty tree's root is SHA-256 of nothing. */
export function merkleRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return sha256();
  // Bottom-up over the same shape as the recursive definition: pair within each power-of-two block.
  const build = (from: number, to: number): Buffer => {
    const n = to - from;
    if (n === 1) return leaves[from] ?? sha256();
    const k = split(n);
    return nodeHash(build(from, from + k), build(from + k, to));
  };
  return build(0, leaves.length);
}

/** One step of an inclusion proof: a sibling hash and whether it sits left of the path. */
export interface ProofStep {
  side: 'left' | 'right';
  hash: string;
}

/** The inclusion proof of leaf `index`: the siblings from the leaf up to the root. */
export function inclusionProof(leaves: readonly Buffer[], index: number): ProofStep[] {
  const steps: ProofStep[] = [];
  const walk = (from: number, to: number, at: number): void => {
    const n = to - from;
    if (n <= 1) return;
    const k = split(n);
    if (at < from + k) {
      walk(from, from + k, at);
      steps.push({ side: 'right', hash: merkleRoot(leaves.slice(from + k, to)).toString('hex') });
    } else {
      walk(from + k, to, at);
      steps.push({ side: 'left', hash: merkleRoot(leaves.slice(from, from + k)).toString('hex') });
    }
  };
  walk(0, leaves.length, index);
  return steps;
}

/** Recomputes a root from a leaf hash and its proof. */
export function rootFromProof(leaf: Buffer, proof: readonly ProofStep[]): Buffer {
  let hash = leaf;
  for (const step of proof) {
    const sibling = Buffer.from(step.hash, 'hex');
    hash = step.side === 'left' ? nodeHash(sibling, hash) : nodeHash(hash, sibling);
  }
  return hash;
}

/** Leaf hashes packed into one buffer (32 bytes each), as `integrity_seals.leaves` stores them. */
export function packLeaves(leaves: readonly Buffer[]): Buffer {
  return Buffer.concat(leaves);
}

/** The inverse of {@link packLeaves}. */
export function unpackLeaves(packed: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + 32 <= packed.length; i += 32) out.push(packed.subarray(i, i + 32));
  return out;
}
