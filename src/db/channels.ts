/**
 * PostgreSQL `LISTEN/NOTIFY` channels. A notification is sent inside the transaction that stores what it names, so
 * PostgreSQL delivers it at that commit (never for a rolled-back one) to every listening session, on any replica of
 * this service that is connected to the primary.
 */

/** A batch of audit events committed: the payload is {@link EventsNotice} as JSON. */
export const EVENTS_CHANNEL = 'dpod_audit_events';

/** A finding raised: the payload is the finding's id. */
export const FINDINGS_CHANNEL = 'dpod_audit_findings';

/** What a committed batch says about its new events: enough for a listener to read exactly those rows. */
export interface EventsNotice {
  /** The ingest run that wrote them (`audit_events.ingest_run_id`). */
  run: string;
  /** The id of the transaction that inserted them (their `xmin`, 32 bits). */
  xid: string;
  /** The earliest and latest event time of the batch (partition pruning for the read). */
  from: string;
  to: string;
  /** How many events the batch inserted. */
  count: number;
}
