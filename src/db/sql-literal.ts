import pg from 'pg';

/**
 * Inlines a compiled statement's parameters as SQL literals, for the one statement PostgreSQL cannot take them in:
 * `COPY (query) TO STDOUT`. Every value goes through pg's `escapeLiteral` (quotes doubled; backslashes doubled under
 * an `E''` prefix, so the text is safe whatever `standard_conforming_strings` says); arrays become array literals
 * first. The placeholders are found outside quoted text only, so a `$1` inside a literal or an identifier is left alone
 * (the statement's own `E''` literals must not hold an escaped quote: none of this project's do).
 */
export function inlineParameters(text: string, parameters: readonly unknown[]): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      // Copy the quoted text as it is (a doubled quote stays inside it).
      let j = i + 1;
      for (; j < text.length; j++) {
        if (text[j] === c) {
          if (text[j + 1] === c) j++;
          else break;
        }
      }
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '$' && /[0-9]/.test(text[i + 1] ?? '')) {
      let j = i + 1;
      while (j < text.length && /[0-9]/.test(text[j]!)) j++;
      const n = Number(text.slice(i + 1, j));
      if (n < 1 || n > parameters.length) throw new Error(`Statement has $${n} but ${parameters.length} parameter(s).`);
      out += literal(parameters[n - 1]);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** One value as a SQL literal: text quoted, numbers checked finite, booleans and null as keywords. */
export function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`Cannot inline the number ${value}.`);
    return `'${value}'`;
  }
  if (typeof value === 'bigint') return `'${value}'`;
  if (typeof value === 'string') return pg.escapeLiteral(value);
  if (value instanceof Date) return pg.escapeLiteral(value.toISOString());
  if (Array.isArray(value)) return pg.escapeLiteral(arrayLiteral(value));
  throw new Error(`Cannot inline a parameter of type ${typeof value}.`);
}

/** A PostgreSQL array literal of texts: `{"a","b"}`, each element quoted with `"` and `\` escaped, null as NULL. */
function arrayLiteral(values: readonly unknown[]): string {
  const items = values.map((v) => {
    if (v === null || v === undefined) return 'NULL';
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'bigint')
      throw new Error(`Cannot inline an array element of type ${typeof v}.`);
    return `"${String(v).replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
  });
  return `{${items.join(',')}}`;
}
