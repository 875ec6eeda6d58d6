import { FindingsResolver } from './resolvers/findings.resolver';
import 'reflect-metadata';
import { writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { printSubgraphSdl, toSubgraphSchema } from './federation/subgraph-schema';
import { AuditAggregateResolver } from './resolvers/audit-aggregate.resolver';
import { AuditEventConnectionResolver } from './resolvers/audit-event-connection.resolver';
import { AuditEventsResolver } from './resolvers/audit-events.resolver';
import { CatalogResolver } from './resolvers/catalog.resolver';
import { FindingConnectionResolver } from './resolvers/finding-connection.resolver';
import { ClientsResolver } from './resolvers/clients.resolver';
import { IngestRunsResolver } from './resolvers/ingest-runs.resolver';
import { IntegrityResolver } from './resolvers/integrity.resolver';
import { ServicesResolver } from './resolvers/services.resolver';
import { SubscriptionsResolver } from './resolvers/subscriptions.resolver';
import { ExportResolver } from './resolvers/export.resolver';
import { DateTimeScalar } from './types/date-time.scalar';

/** Every resolver class of the API. */
export const RESOLVERS = [
  AuditEventsResolver,
  AuditEventConnectionResolver,
  AuditAggregateResolver,
  ServicesResolver,
  ClientsResolver,
  CatalogResolver,
  IngestRunsResolver,
  IntegrityResolver,
  FindingsResolver,
  FindingConnectionResolver,
  SubscriptionsResolver,
  ExportResolver,
] as const;

let built: Promise<GraphQLSchema> | undefined;

const NO_TOPICS = {
  publish(): never {
    throw new Error('subscriptions here read PostgreSQL notifications; nothing publishes to topics');
  },
  subscribe(): never {
    throw new Error('subscriptions here read PostgreSQL notifications; nothing subscribes to topics');
  },
};

/**
 * Builds the executable schema once per process (type-graphql keeps global metadata; later calls
 * return the same schema): the Federation 2 subgraph schema (`_service`, `_entities`; see
 * `federation/subgraph-schema.ts`). `emitSchemaFile` also writes the SDL there (see {@link printSchemaSdl}).
 */
export async function buildGraphqlSchema(options: { emitSchemaFile?: string } = {}): Promise<GraphQLSchema> {
  built ??= buildSchema({
    resolvers: [...RESOLVERS],
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validate: false,
    // type-graphql insists on a PubSub once a schema has subscriptions; each of ours brings its own `subscribe`
    // (live delivery reads PostgreSQL's notifications, see subscriptions/notice-hub.ts), so topics are never used.
    pubSub: NO_TOPICS,
  }).then(toSubgraphSchema);
  const schema = await built;
  if (options.emitSchemaFile) {
    await mkdir(dirname(options.emitSchemaFile), { recursive: true });
    await writeFile(options.emitSchemaFile, printSchemaSdl(schema), 'utf8');
  }
  return schema;
}

/** The schema as committed SDL: the subgraph SDL (sorted, with `@link`/`@key`), so the file only changes when the API does. */
export function printSchemaSdl(schema: GraphQLSchema): string {
  return printSubgraphSdl(schema);
}
