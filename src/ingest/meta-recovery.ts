/** The meta keys DPoD documents; the only ones read out of a meta that is not valid JSON. */
export const KNOWN_META_KEYS = ['clientip', 'hsmid', 'ouids', 'partid', 'role'] as const;

/** One of {@link KNOWN_META_KEYS}. */
export type KnownMetaKey = (typeof KNOWN_META_KEYS)[number];

/** Fields read out of a malformed meta: text, a list (ouids given as an array), or null (a literal `null`). */
export type RecoveredMeta = Partial<Record<KnownMetaKey, string | string[] | null>>;

// A key, quoted or not (with any stray backslashes already gone), then `:` (or `=`), then its value.
const KEY = /(?:^|[\s{,;"'])["']?(clientip|hsmid|ouids|partid|role)["']?\s*[:=]\s*/gi;

/** The value at `start`; undefined when the text ends inside it (a truncated value is not stored as if whole). */
function readValue(text: string, start: number): string | string[] | null | undefined {
  const first = text[start];
  if (first === '"' || first === "'") {
    // Up to the next quote of either kind, a line end or a closing brace: a missing closing quote
    // (DPoD's own documented example) still gives the value.
    const rest = text.slice(start + 1);
    const end = rest.search(/["'\n\r}]/);
    return end < 0
      ? undefined
      : rest
          .slice(0, end)
          .replace(/[\s,;]+$/, '')
          .trim();
  }
  if (first === '[') {
    const rest = text.slice(start + 1);
    const end = rest.indexOf(']');
    const items = (end < 0 ? rest : rest.slice(0, end))
      .split(',')
      .map((item) => item.trim().replace(/^["']+|["']+$/g, ''));
    if (end < 0) items.pop();
    return items.filter((item) => item !== '' && item !== 'null');
  }
  const bare = /^[^\s,;}"']*/.exec(text.slice(start))?.[0] ?? '';
  if (start + bare.length >= text.length) return undefined;
  return bare === 'null' || bare === '' ? null : bare;
}

/**
 * Reads DPoD's known meta fields out of a meta text that is not valid JSON: DPoD's own documented example (a
 * missing backslash before a closing quote), a truncated text, a missing closing brace, stray or missing
 * backslashes, single quotes, `=` for `:`. The first occurrence of a key wins; unknown keys are ignored (the raw
 * text keeps them). Runs only for malformed meta, never on the path of valid records.
 */
export function recoverMetaFields(raw: string): RecoveredMeta {
  // Escaped quotes (\" or \\\" or \') become plain quotes: the text was escaped once too often, or unevenly.
  const text = raw.replace(/\\+(?=["'])/g, '');
  const found: RecoveredMeta = {};
  for (const match of text.matchAll(KEY)) {
    const key = match[1]?.toLowerCase() as KnownMetaKey | undefined;
    if (key === undefined || key in found) continue;
    const value = readValue(text, (match.index ?? 0) + match[0].length);
    if (value !== undefined) found[key] = value;
  }
  return found;
}
