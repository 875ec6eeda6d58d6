import { createHash, hash } from 'node:crypto';

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

/** Roots of subtrees already computed, by `from:to` (shared by the proofs of one tree). */
export type SubtreeMemo = Map<string, Buffer>;

function subtreeRoot(leaves: readonly Buffer[], from: number, to: number, memo?: SubtreeMemo): Buffer {
  const n = to - from;
  if (n === 1) return leaves[from] ?? sha256();
  const key = `${from}:${to}`;
  const known = memo?.get(key);
  if (known) return known;
  const k = split(n);
  const root = nodeHash(subtreeRoot(leaves, from, from + k, memo), subtreeRoot(leaves, from + k, to, memo));
  memo?.set(key, root);
  return root;
}

/** The Merkle root of leaf hashes (in order); the empty tree's root is SHA-256 of nothing. */
export function merkleRoot(leaves: readonly Buffer[]): Buffer {
  return packedMerkleRoot(packLeaves(leaves));
}

/**
 * The Merkle root of leaf hashes packed in one buffer (32 bytes each, in order), as sealing and verify hold them.
 * Computed level by level, pairing neighbours and carrying an odd last node up unchanged: the same root as RFC
 * 6962's split at the largest power of two (test/integrity/merkle.test.ts holds the two to each other), with one
 * one-shot hash per inner node and no object per leaf. Hand-written: it is the CPU of sealing and verifying once
 * leaves come packed from PostgreSQL (createHash per node and a Buffer per leaf took ~60% of a seal's time).
 */
export function packedMerkleRoot(packed: Buffer): Buffer {
  let n = Math.floor(packed.length / 32);
  if (n === 0) return sha256();
  if (n === 1) return Buffer.from(packed.subarray(0, 32));
  const level = Buffer.from(packed.subarray(0, n * 32));
  const input = Buffer.allocUnsafe(65);
  input[0] = 1;
  while (n > 1) {
    const pairs = n >> 1;
    for (let j = 0; j < pairs; j++) {
      level.copy(input, 1, 64 * j, 64 * j + 64);
      hash('sha256', input, 'buffer').copy(level, 32 * j);
    }
    if (n & 1) level.copy(level, 32 * pairs, 32 * (n - 1), 32 * n);
    n = pairs + (n & 1);
  }
  return Buffer.from(level.subarray(0, 32));
}

/** One step of an inclusion proof: a sibling hash and whether it sits left of the path. */
export interface ProofStep {
  side: 'left' | 'right';
  hash: string;
}

/**
 * The inclusion proof of leaf `index`: the siblings from the leaf up to the root. Pass one `memo` to the proofs of
 * one tree: the first costs a pass over the leaves, the others reuse its subtree roots.
 */
export function inclusionProof(leaves: readonly Buffer[], index: number, memo: SubtreeMemo = new Map()): ProofStep[] {
  const steps: ProofStep[] = [];
  const walk = (from: number, to: number): void => {
    const n = to - from;
    if (n <= 1) return;
    const k = split(n);
    if (index < from + k) {
      walk(from, from + k);
      steps.push({ side: 'right', hash: subtreeRoot(leaves, from + k, to, memo).toString('hex') });
    } else {
      walk(from + k, to);
      steps.push({ side: 'left', hash: subtreeRoot(leaves, from, from + k, memo).toString('hex') });
    }
  };
  walk(0, leaves.length);
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
