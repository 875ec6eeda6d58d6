import { PIN_FAILURE_STATUSES } from './catalog';

/**
 * What a finding's evidence events are: a predicate over the events of its service and client between its first and
 * last seen. Stored with the finding (`findings.evidence`), so the evidence is read from the store (and counted
 * exactly) however long the episode runs, without a row per event.
 */
export type Evidence =
  /** PIN or login failures (a failed LUNA_LOGIN, or a wrong-PIN / lockout status). */
  | { kind: 'pin-failures' }
  /** Events of these actions, optionally only successful ones or only by these roles. */
  | { kind: 'actions'; actions: string[]; okOnly?: boolean; roles?: string[] }
  /** Events from addresses inside this prefix (IPv4 /24, IPv6 /64). */
  | { kind: 'address'; prefix: string }
  /** Every event of the client. */
  | { kind: 'all' };

/** A SQL condition on `audit_events e` with its parameters numbered from `first`. */
export interface SqlCondition {
  text: string;
  values: unknown[];
}

/** The SQL condition of an evidence predicate; parameters are numbered from `$first`. */
export function evidenceCondition(evidence: Evidence, first: number): SqlCondition {
  switch (evidence.kind) {
    case 'pin-failures':
      return {
        text: `((e.action = 'LUNA_LOGIN' and e.status <> 'LUNA_RET_OK') or e.status = any($${first}::text[]))`,
        values: [[...PIN_FAILURE_STATUSES]],
      };
    case 'actions': {
      const parts = [`e.action = any($${first}::text[])`];
      const values: unknown[] = [evidence.actions];
      if (evidence.okOnly) parts.push(`e.status = 'LUNA_RET_OK'`);
      if (evidence.roles) {
        parts.push(`e.role = any($${first + 1}::text[])`);
        values.push(evidence.roles);
      }
      return { text: `(${parts.join(' and ')})`, values };
    }
    case 'address':
      return { text: `(e.client_ip <<= $${first}::cidr)`, values: [evidence.prefix] };
    case 'all':
      return { text: 'true', values: [] };
  }
}

/** Reads an evidence predicate back from its stored JSON; an unknown shape is refused, never widened to "all". */
export function parseEvidence(value: unknown): Evidence {
  const v = (value ?? {}) as Record<string, unknown>;
  const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
  if (v.kind === 'pin-failures' || v.kind === 'all') return { kind: v.kind };
  if (v.kind === 'address' && typeof v.prefix === 'string') return { kind: 'address', prefix: v.prefix };
  if (v.kind === 'actions' && strings(v.actions) && (v.roles === undefined || strings(v.roles)))
    return {
      kind: 'actions',
      actions: v.actions,
      ...(v.okOnly === true ? { okOnly: true } : {}),
      ...(strings(v.roles) ? { roles: v.roles } : {}),
    };
  throw new Error(`a finding's evidence has an unknown shape: ${JSON.stringify(value)}`);
}
