// DPoD writes `YYYY-MM-DD HH:MM:SS[.fff] UTC`; RFC 3339 (`T`, `Z` or an offset) is accepted too.
const TIME_PATTERN =
  /^\s*(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*(?:(Z|UTC|GMT)|([+-])(\d{2}):?(\d{2}))?\s*$/i;

/**
 * Parses an audit record time to epoch milliseconds (UTC), truncated to the millisecond.
 * A time without a zone is taken as UTC. Returns `NaN` when the text is not a valid time.
 */
export function parseAuditTime(text: string): number {
  const m = TIME_PATTERN.exec(text);
  if (!m) return NaN;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return NaN;
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  let at = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Date.UTC rolls 31 February over into March: reject days the month does not have.
  if (new Date(at).getUTCDate() !== day) return NaN;
  if (m[9]) {
    const offsetHours = Number(m[10]);
    const offsetMinutes = Number(m[11]);
    if (offsetHours > 23 || offsetMinutes > 59) return NaN;
    const offset = (offsetHours * 60 + offsetMinutes) * 60_000;
    at += m[9] === '+' ? -offset : offset;
  }
  return at;
}
