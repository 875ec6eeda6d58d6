import { generateEvents } from './record-generator';
import type { Tenant } from './tenant';

/** What the simulator generated for a window, for tests to compare against what was ingested. */
export interface RecordSummary {
  total: number;
  /** Records per `resourceID` (service id). */
  byService: Record<string, number>;
  /** Records per `actorID` (client id). */
  byClient: Record<string, number>;
  byAction: Record<string, number>;
  byStatus: Record<string, number>;
  /** Records that are exact copies of the record before them (real repeated events in one second). */
  identicalSameSecondExtras: number;
  /** Records whose `meta` string is malformed JSON. */
  malformedMeta: number;
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

/** Counts the records {@link generateRecords} yields for [from, to). */
export function summarizeRecords(tenant: Tenant, from: Date, to: Date): RecordSummary {
  const summary: RecordSummary = {
    total: 0,
    byService: {},
    byClient: {},
    byAction: {},
    byStatus: {},
    identicalSameSecondExtras: 0,
    malformedMeta: 0,
  };
  for (const e of generateEvents(tenant, from, to)) {
    summary.total++;
    bump(summary.byService, e.serviceId);
    bump(summary.byClient, e.clientId);
    bump(summary.byAction, e.action);
    bump(summary.byStatus, e.status);
    if (e.identicalExtra) summary.identicalSameSecondExtras++;
    if (e.malformedMeta) summary.malformedMeta++;
  }
  return summary;
}
