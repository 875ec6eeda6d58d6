/** Ids that make the examples return data at once (taken from the store when it has events). */
export interface ExampleIds {
  serviceId: string;
  clientId: string;
  objectId: string;
}

/** One GraphiQL tab: a titled operation (a query, or a subscription) with its variables. */
export interface ExampleQuery {
  title: string;
  query: string;
  variables: Record<string, unknown>;
}

/** Placeholder ids used when the store is empty. */
export const PLACEHOLDER_IDS: ExampleIds = {
  serviceId: '00000000-0000-4000-8000-000000000000',
  clientId: '00000000-0000-4000-8000-000000000000',
  objectId: '1',
};

const DAY_MS = 86_400_000;

/** The analysts' common questions as ready-to-run queries (the first is the deep traversal). */
export function exampleQueries(ids: ExampleIds, now: Date = new Date()): ExampleQuery[] {
  const weekAgo = new Date(now.getTime() - 7 * DAY_MS).toISOString();
  return [
    {
      title: 'Services, their clients and what they did',
      query: `# The deep traversal: service -> clients -> actions -> meta.
# Add "Authorization: Bearer <token>" in the Headers tab when the server runs with AUTH_MODE=jwt.
query ServicesClientsActions {
  services(first: 5) {
    totalCount
    nodes {
      id
      name
      serviceType
      clients(first: 5) {
        nodes {
          id
          name
          bound
          actions(first: 5) {
            totalCount
            nodes { time action status meta { clientIp objectIds role } }
          }
        }
      }
    }
  }
}
`,
      variables: {},
    },
    {
      title: 'Who used this key?',
      query: `# Every event that touched one HSM object (key handle), and who did it.
query WhoUsedThisKey($objectId: String!) {
  auditEvents(filter: { objectId: $objectId }, first: 20) {
    totalCount
    aggregate {
      first
      last
      byClient(limit: 10) { client { id name } count }
      byAction(limit: 10) { key count }
    }
    nodes { time action status client { id name } service { id name } meta { clientIp role } }
  }
}
`,
      variables: { objectId: ids.objectId },
    },
    {
      title: 'Failed logins by client this week',
      query: `# LUNA_LOGIN attempts that failed since $since, grouped by client.
query FailedLoginsThisWeek($since: DateTime!) {
  auditEvents(filter: { actions: ["LUNA_LOGIN"], succeeded: false, from: $since }, first: 10) {
    aggregate {
      count
      byClient(limit: 20) { client { id name service { name } } count }
      byStatus { key count }
    }
    nodes { time status client { id name } meta { clientIp } }
  }
}
`,
      variables: { since: weekAgo },
    },
    {
      title: 'Actions per service per day',
      query: `# For each service: events per day and the busiest actions, since $since.
query ActionsPerServicePerDay($since: DateTime!) {
  services(first: 10) {
    nodes {
      id
      name
      auditEvents(filter: { from: $since }, first: 1) {
        aggregate {
          count
          failureRate
          timeline(interval: DAY) { start count failed }
          byAction(limit: 10) { key count }
        }
      }
    }
  }
}
`,
      variables: { since: weekAgo },
    },
    {
      title: 'Everything one client did',
      query: `# One client: its binding, a summary of its activity and its latest events (page with "after").
query EverythingOneClientDid($clientId: ID!, $after: String) {
  client(id: $clientId) {
    id
    name
    bound
    createdAt
    service { id name }
    actions(first: 50, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      aggregate {
        succeeded
        failed
        byAction { key count }
        timeline(interval: DAY) { start count failed }
      }
      nodes { id time action status meta { clientIp hsmId objectIds role } }
    }
  }
}
`,
      variables: { clientId: ids.clientId, after: null },
    },
    {
      title: 'Open findings',
      query: `# What the detection rules raised and nobody has acknowledged yet, most severe first in the filter.
query OpenFindings($after: String) {
  findings(filter: { status: OPEN, severities: [HIGH, CRITICAL] }, first: 20, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { rule severity summary firstSeen lastSeen count service { id name } client { id name } }
  }
  lunaDetectionRules { code severity enabled description }
}
`,
      variables: { after: null },
    },
    {
      title: 'Live events',
      query: `# A subscription: every failed event as it is stored, until you press stop (each one replaces the last).
# Served over an event stream on this endpoint (POST /graphql, Accept: text/event-stream); see docs/live-delivery.md.
subscription LiveEvents($filter: AuditEventFilter) {
  auditEventsAdded(filter: $filter) { id time action status service { id } client { id } }
}
`,
      variables: { filter: { succeeded: false } },
    },
    {
      title: 'Live findings',
      query: `# A subscription: every HIGH or CRITICAL finding as a detection pass raises it, until you press stop.
subscription LiveFindings {
  findingRaised(filter: { severities: [HIGH, CRITICAL] }) {
    id rule severity summary firstSeen lastSeen count service { id name } client { id name }
  }
}
`,
      variables: {},
    },
  ];
}
