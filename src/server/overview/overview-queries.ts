/** The panels of the overview page, each drawn from one query of the public GraphQL API. */
export const OVERVIEW_PANELS = [
  'totals',
  'timeline',
  'actions',
  'statuses',
  'clients',
  'services',
  'findings',
] as const;
/** One of {@link OVERVIEW_PANELS}. */
export type OverviewPanel = (typeof OVERVIEW_PANELS)[number];

/** Buckets a breakdown panel shows (the API sorts them by count, then key). */
export const OVERVIEW_TOP = 10;
/** Open findings the findings table lists (newest first). */
export const OVERVIEW_FINDINGS = 20;

/**
 * The query behind each panel, as the page sends it (POST /graphql) and as its "query in GraphiQL" link opens it.
 * Every query takes `$filter: AuditEventFilter` (the filter bar); the timeline adds `$interval`, the findings table
 * takes the same bar as a `FindingFilter` with `status: OPEN`. Each stays far inside the default query limits.
 */
export const OVERVIEW_QUERIES: Record<OverviewPanel, string> = {
  totals: `query OverviewTotals($filter: AuditEventFilter) {
  auditEvents(filter: $filter) {
    totalCount
    aggregate { count succeeded failed failureRate distinctClients distinctServices first last }
  }
  csv: exportLink(filter: $filter, format: CSV) { url manifestUrl expiresAt }
  ndjson: exportLink(filter: $filter, format: NDJSON) { url }
}`,
  timeline: `query OverviewTimeline($filter: AuditEventFilter, $interval: TimeInterval!) {
  auditEvents(filter: $filter) {
    aggregate { timeline(interval: $interval) { start count failed } }
  }
}`,
  actions: `query OverviewActions($filter: AuditEventFilter) {
  auditEvents(filter: $filter) {
    aggregate { byAction(limit: ${OVERVIEW_TOP}) { key count } }
  }
}`,
  statuses: `query OverviewStatuses($filter: AuditEventFilter) {
  auditEvents(filter: $filter) {
    aggregate { byStatus(limit: ${OVERVIEW_TOP}) { key count } }
  }
}`,
  clients: `query OverviewClients($filter: AuditEventFilter) {
  auditEvents(filter: $filter) {
    aggregate { byClient(limit: ${OVERVIEW_TOP}) { client { id name } count } }
  }
}`,
  services: `query OverviewServices($filter: AuditEventFilter) {
  auditEvents(filter: $filter) {
    aggregate { byService(limit: ${OVERVIEW_TOP}) { service { id name } count } }
  }
}`,
  findings: `query OverviewOpenFindings($filter: FindingFilter) {
  findings(filter: $filter, first: ${OVERVIEW_FINDINGS}) {
    totalCount
    nodes {
      id severity rule summary firstSeen lastSeen count
      service { id name }
      client { id name }
    }
  }
}`,
};
