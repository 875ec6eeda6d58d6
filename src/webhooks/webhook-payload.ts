import { createHmac } from 'node:crypto';
import type { FindingRow } from '../graphql/findings/findings.repository';

/** The one event sent so far. */
export const FINDING_RAISED = 'finding.raised';

/** A finding as a webhook carries it (the GraphQL Finding's scalar fields; ids are strings, times ISO 8601). */
export interface WebhookFinding {
  id: string;
  rule: string;
  severity: string;
  status: string;
  serviceId: string;
  clientId: string | null;
  subject: string | null;
  firstSeen: string;
  lastSeen: string;
  count: number;
  summary: string;
  raisedAt: string;
}

/** The JSON body of a delivery. */
export interface WebhookPayload {
  deliveryId: string;
  event: typeof FINDING_RAISED;
  finding: WebhookFinding;
}

/** The stored finding's columns a payload is made of. */
export type FindingColumns = Pick<
  FindingRow,
  | 'id'
  | 'rule'
  | 'severity'
  | 'status'
  | 'service_id'
  | 'client_id'
  | 'subject'
  | 'first_seen'
  | 'last_seen'
  | 'count'
  | 'summary'
  | 'raised_at'
>;

/** Maps a stored finding to the payload's `finding`. */
export function rowToWebhookFinding(r: FindingColumns): WebhookFinding {
  return {
    id: r.id,
    rule: r.rule,
    severity: r.severity,
    status: r.status,
    serviceId: r.service_id,
    clientId: r.client_id,
    subject: r.subject,
    firstSeen: r.first_seen.toISOString(),
    lastSeen: r.last_seen.toISOString(),
    count: r.count,
    summary: r.summary,
    raisedAt: r.raised_at.toISOString(),
  };
}

/**
 * The `X-Dpod-Audit-Signature-256` value of a body, GitHub's scheme: `sha256=` and the hex HMAC-SHA256 of the exact
 * bytes sent, keyed with `WEBHOOK_SECRET`.
 */
export function signatureOf(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
