/** An input record that cannot become an event: kept verbatim in `rejected_records`. */
export interface RejectedInput {
  lineNumber: number;
  raw: string;
  reason: string;
}
