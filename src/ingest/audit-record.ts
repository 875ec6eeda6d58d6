/** An input record that cannot become an event: kept verbatim in `rejected_records`. */
export interface RejectedInput {
  lineNumber: number;
  /** The text as stored (NUL written as \\u0000, which PostgreSQL text cannot hold). */
  raw: string;
  reason: string;
  /** SHA-256 (hex) of `raw`; with `occurrence` the line's identity in `rejected_records`. */
  lineHash: string;
  /** Which of the identical bad lines of its input this is (0 = the first). */
  occurrence: number;
}
