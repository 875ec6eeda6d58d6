import { createHash } from 'node:crypto';
import { inclusionProof, leafHash, merkleRoot, packedMerkleRoot, rootFromProof } from '../../src/integrity/merkle';

// RFC 6962, section 2.1, written out as the definition reads (recursive, split at the largest power of two below
// n): the reference the level-by-level root of merkle.ts must equal for every size.
const sha = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha(Buffer.from([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

const leavesOf = (n: number) => Array.from({ length: n }, (_, i) => leafHash(`event ${i}`));

it('computes RFC 6962 roots for every tree size, packed or not, and proofs fold to them', () => {
  const sizes = [...Array.from({ length: 70 }, (_, i) => i), 127, 128, 129, 255, 1000, 1025];
  for (const n of sizes) {
    const leaves = leavesOf(n);
    const expected = mth(leaves).toString('hex');
    expect({ n, root: packedMerkleRoot(Buffer.concat(leaves)).toString('hex') }).toEqual({ n, root: expected });
    expect({ n, root: merkleRoot(leaves).toString('hex') }).toEqual({ n, root: expected });
    for (const i of n > 0 ? [0, Math.floor(n / 2), n - 1] : []) {
      expect({ n, i, root: rootFromProof(leaves[i]!, inclusionProof(leaves, i)).toString('hex') }).toEqual({
        n,
        i,
        root: expected,
      });
    }
  }
  // The empty tree is SHA-256 of nothing; one leaf is its own root; the input buffer is left as it was.
  expect(packedMerkleRoot(Buffer.alloc(0)).toString('hex')).toBe(createHash('sha256').digest('hex'));
  const packed = Buffer.concat(leavesOf(5));
  const copy = Buffer.from(packed);
  packedMerkleRoot(packed);
  expect(packed.equals(copy)).toBe(true);
});

it('changes the root when any leaf changes, moves or is left out', () => {
  const leaves = leavesOf(9);
  const root = merkleRoot(leaves).toString('hex');
  const swapped = [leaves[1]!, leaves[0]!, ...leaves.slice(2)];
  const changed = [...leaves.slice(0, 8), leafHash('forged')];
  for (const other of [swapped, changed, leaves.slice(0, 8), [...leaves, leaves[8]!]])
    expect(merkleRoot(other).toString('hex')).not.toBe(root);
});
