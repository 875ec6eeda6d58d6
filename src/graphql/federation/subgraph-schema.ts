import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import {
  isEnumType,
  isObjectType,
  isSpecifiedScalarType,
  lexicographicSortSchema,
  parse,
  type GraphQLSchema,
} from 'graphql';
import { createResolversMap } from 'type-graphql';
import { checkRepresentations, ENTITY_REFERENCE_RESOLVERS } from './entity-references';
import type { Context } from '../context';

/** The Federation 2 spec this subgraph links, importing only the directives it uses. */
export const FEDERATION_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])';

/** Descriptions for what federation adds (the schema contract: every type and field is described). */
const FEDERATION_DESCRIPTIONS: Record<string, { type?: string; fields?: Record<string, string> }> = {
  Query: {
    fields: {
      _service: "Federation: this subgraph's SDL, read by composition tools and routers.",
      _entities:
        "Federation: resolves Service, Client and AuditEvent entities from their keys (null outside the caller's scope).",
    },
  },
  _Service: {
    type: "Federation: the subgraph's own description.",
    fields: { sdl: 'The subgraph SDL with its federation directives.' },
  },
  _Entity: { type: 'Federation: every entity type of this subgraph.' },
  _Any: { type: 'Federation: an entity representation, {__typename, id}.' },
};

/** Federation's own types (`_Any`, `FieldSet`, `link__Import`, `federation__Scope`...). */
const isFederationType = (name: string) =>
  name.startsWith('_') || name.startsWith('link__') || name.startsWith('federation__') || name === 'FieldSet';

function describeFederationAdditions(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    const text = FEDERATION_DESCRIPTIONS[type.name];
    if (!type.description && isFederationType(type.name) && !type.name.startsWith('__'))
      type.description = text?.type ?? `Federation: ${type.name} (defined by the federation spec).`;
    if (isObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (!field.description && text?.fields?.[field.name]) field.description = text.fields[field.name];
        if (field.name === '_entities')
          for (const arg of field.args) arg.description ??= 'Entity representations: __typename plus the key field id.';
      }
    }
    if (isEnumType(type) && isFederationType(type.name))
      for (const value of type.getValues()) value.description ??= `${type.name} value ${value.name}.`;
  }
}

/**
 * Turns the type-graphql schema into the Federation 2 subgraph schema served by the server: the same types and
 * resolvers (entities marked with `@key` by `@Directive`), plus `_service`, `_entities` and `__resolveReference`.
 */
export function toSubgraphSchema(schema: GraphQLSchema): GraphQLSchema {
  // Sorted, so `_service { sdl }` (and with it the supergraph) only changes when the API does.
  const typeDefs = parse(`${FEDERATION_LINK}\n\n${printSchemaWithDirectives(lexicographicSortSchema(schema))}`);
  const resolvers = createResolversMap(schema) as GraphQLResolverMap<Context>;
  // Built-in scalars stay graphql's own; custom scalars (DateTime) keep their parse/serialize.
  for (const name of Object.keys(resolvers)) {
    const type = schema.getType(name);
    if (type && 'serialize' in type && isSpecifiedScalarType(type)) delete resolvers[name];
  }
  for (const [typeName, reference] of Object.entries(ENTITY_REFERENCE_RESOLVERS)) {
    resolvers[typeName] = { ...(resolvers[typeName] as object), ...reference };
  }
  const subgraph = buildSubgraphSchema([{ typeDefs, resolvers }]);
  describeFederationAdditions(subgraph);
  const entities = subgraph.getQueryType()!.getFields()._entities!;
  const resolveEntities = entities.resolve!;
  entities.resolve = (source, args: { representations: readonly unknown[] }, ctx, info) => {
    checkRepresentations(args.representations);
    return resolveEntities(source, args, ctx, info);
  };
  return subgraph;
}

/** The subgraph SDL with its federation directives (what `_service { sdl }` returns and `compose` reads). */
export function printSubgraphSdl(subgraph: GraphQLSchema): string {
  return `${printSubgraphSchema(subgraph).trimEnd()}\n`;
}
