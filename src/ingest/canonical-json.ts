/** True when `key` is an array index, which JavaScript objects always enumerate first, in numeric order. */
function isIndexKey(key: string): boolean {
  const c = key.charCodeAt(0);
  if (c < 48 || c > 57) return false;
  const n = Number(key);
  return n >>> 0 === n && n !== 4294967295 && String(n) === key;
}

/**
 * Serialises a JSON value with object keys sorted (recursively), so that two records that differ only
 * in key order (or arrive as a meta string vs. a meta object) serialise the same.
 *
 * The text is part of every stored event's identity, so it must never change. It is exactly what
 * `JSON.stringify` prints for a copy of the value whose objects received their keys in sorted order: keys
 * that are array indexes ("9", "10") come first in numeric order, the others sorted by UTF-16 code units;
 * keys whose value is `undefined` (and `__proto__`) are left out. Written out directly, without building those copies.
 */
export function canonicalJson(value: unknown): string {
  return serialize(value) ?? 'null';
}

function serialize(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += serialize(value[i]) ?? 'null';
    }
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  // Index keys lead Object.keys already, in numeric order; only the rest need sorting.
  let first = 0;
  while (first < keys.length && isIndexKey(keys[first]!)) first++;
  const named = first === 0 ? keys.sort() : [...keys.slice(0, first), ...keys.slice(first).sort()];
  let out = '{';
  let empty = true;
  for (let i = 0; i < named.length; i++) {
    const k = named[i]!;
    // A sorted copy could never hold an own "__proto__" (assigning it sets the prototype): left out too.
    if (k === '__proto__') continue;
    const v = serialize(obj[k]);
    if (v === undefined) continue;
    out += `${empty ? '' : ','}${JSON.stringify(k)}:${v}`;
    empty = false;
  }
  return `${out}}`;
}
