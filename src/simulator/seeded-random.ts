/** Mixes integers into a 32-bit hash (murmur3 finalizer style), for deriving per-hour seeds. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    // Fold numbers wider than 32 bits (hour indexes, seeds) in two halves.
    const lo = part >>> 0;
    const hi = Math.floor(part / 0x100000000) >>> 0;
    for (const k of [lo, hi]) {
      h = Math.imul(h ^ k, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
  }
  return h >>> 0;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const HEX = '0123456789abcdef';
const B64URL_CODES = [...B64URL].map((c) => c.charCodeAt(0));
/** Reused char-code arrays, one per string length. */
const CODE_BUFFERS: number[][] = [];

/** A small, fast, seeded pseudo-random generator (sfc32); the same seed always gives the same sequence. */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** The next unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x100000000;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** One element chosen by weight from `[item, weight]` pairs. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of entries) total += w;
    let r = this.next() * total;
    for (const [item, w] of entries) {
      r -= w;
      if (r < 0) return item;
    }
    return entries[entries.length - 1]![0];
  }

  /** A random version-4-shaped UUID. */
  uuid(): string {
    let s = '';
    for (let i = 0; i < 32; i++) {
      let nibble = this.nextUint32() & 15;
      if (i === 12) nibble = 4;
      if (i === 16) nibble = 8 | (nibble & 3);
      s += HEX[nibble];
      if (i === 7 || i === 11 || i === 15 || i === 19) s += '-';
    }
    return s;
  }

  /** `n` random hex digits. */
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += HEX[this.nextUint32() & 15];
    return s;
  }

  /** `n` random decimal digits (first one non-zero). */
  digits(n: number): string {
    let s = String(this.int(1, 9));
    for (let i = 1; i < n; i++) s += String(this.int(0, 9));
    return s;
  }

  /** `n` random base64url characters (a trace id is 43 of them). */
  base64url(n: number): string {
    // Five 6-bit characters per draw, collected as char codes: one flat string, little garbage.
    const codes = (CODE_BUFFERS[n] ??= new Array<number>(n).fill(0));
    let bits = 0;
    let left = 0;
    for (let i = 0; i < n; i++) {
      if (left === 0) {
        bits = this.nextUint32();
        left = 5;
      }
      codes[i] = B64URL_CODES[bits & 63]!;
      bits >>>= 6;
      left--;
    }
    return String.fromCharCode.apply(null, codes);
  }
}
