import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isObjectType, isInputObjectType, isEnumType } from 'graphql';
import { buildGraphqlSchema, printSchemaSdl } from '../../src/graphql/schema';

const CONTRACT: Record<string, string[]> = {
  Query: ['services', 'service', 'client', 'auditEvents', 'auditEvent', 'lunaActions', 'ingestRuns'],
  Service: ['id', 'name', 'serviceType', 'partitionSerialNumber', 'inDpod', 'clients', 'auditEvents'],
  Client: ['id', 'name', 'createdAt', 'bound', 'service', 'actions'],
  AuditEvent: [
    'id',
    'time',
    'source',
    'partitionId',
    'tenantId',
    'traceId',
    'action',
    'actionInfo',
    'status',
    'succeeded',
    'meta',
    'service',
    'client',
  ],
  AuditMeta: ['clientIp', 'hsmId', 'objectIds', 'partitionSerial', 'role', 'malformed', 'raw'],
  AuditEventFilter: [
    'from',
    'to',
    'serviceIds',
    'clientIds',
    'actions',
    'statuses',
    'succeeded',
    'roles',
    'clientIps',
    'hsmIds',
    'objectId',
  ],
  AuditEventConnection: ['edges', 'nodes', 'pageInfo', 'totalCount', 'aggregate'],
  AuditEventEdge: ['cursor', 'node'],
  ServiceConnection: ['edges', 'nodes', 'pageInfo', 'totalCount'],
  ClientConnection: ['edges', 'nodes', 'pageInfo', 'totalCount'],
  IngestRunConnection: ['edges', 'nodes', 'pageInfo', 'totalCount'],
  PageInfo: ['hasNextPage', 'hasPreviousPage', 'startCursor', 'endCursor'],
  AuditAggregate: [
    'count',
    'succeeded',
    'failed',
    'failureRate',
    'distinctClients',
    'distinctServices',
    'first',
    'last',
    'byAction',
    'byStatus',
    'byRole',
    'byClient',
    'byService',
    'timeline',
  ],
  CountBucket: ['key', 'count'],
  ClientCount: ['client', 'count'],
  ServiceCount: ['service', 'count'],
  TimeBucket: ['start', 'count', 'failed'],
  LunaAction: ['code', 'description', 'category'],
};

describe('GraphQL schema', () => {
  it('matches the committed schema/schema.graphql (run `npm run schema:emit` after changing the API)', async () => {
    const committed = readFileSync(join(__dirname, '../../schema/schema.graphql'), 'utf8');
    expect(printSchemaSdl(await buildGraphqlSchema())).toBe(committed);
  });

  it('returns the same schema when built twice in one process', async () => {
    expect(await buildGraphqlSchema()).toBe(await buildGraphqlSchema());
  });

  it('has every type and field of the SPEC contract', async () => {
    const schema = await buildGraphqlSchema();
    const missing: string[] = [];
    for (const [typeName, fields] of Object.entries(CONTRACT)) {
      const type = schema.getType(typeName);
      const have = type && (isObjectType(type) || isInputObjectType(type)) ? Object.keys(type.getFields()) : [];
      for (const f of fields) if (!have.includes(f)) missing.push(`${typeName}.${f}`);
    }
    expect(missing).toEqual([]);
    const enums = ['AuditEventOrder', 'TimeInterval'].map((n) => schema.getType(n));
    expect(
      enums.map((e) =>
        e && isEnumType(e)
          ? e
              .getValues()
              .map((v) => v.name)
              .sort()
          : null,
      ),
    ).toEqual([
      ['TIME_ASC', 'TIME_DESC'],
      ['DAY', 'HOUR', 'MINUTE', 'MONTH', 'WEEK'],
    ]);
  });

  it('describes every type, field and argument', async () => {
    const schema = await buildGraphqlSchema();
    const undocumented: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || ['String', 'Int', 'Float', 'Boolean', 'ID'].includes(type.name)) continue;
      const root = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()];
      if (!type.description && !root.includes(type as never)) undocumented.push(type.name);
      const fields = isObjectType(type)
        ? Object.values(type.getFields())
        : isInputObjectType(type)
          ? Object.values(type.getFields())
          : [];
      for (const field of fields) {
        if (!field.description) undocumented.push(`${type.name}.${field.name}`);
        for (const arg of 'args' in field ? field.args : [])
          if (!arg.description) undocumented.push(`${type.name}.${field.name}(${arg.name})`);
      }
    }
    expect(undocumented).toEqual([]);
  });
});
