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
import { ClientsResolver } from './resolvers/clients.resolver';
import { IngestRunsResolver } from './resolvers/ingest-runs.resolver';
import { IntegrityResolver } from './resolvers/integrity.resolver';
import { ServicesResolver } from './resolvers/services.resolver';
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
] as const;

let built: Promise<GraphQLSchema> | undefined;

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
