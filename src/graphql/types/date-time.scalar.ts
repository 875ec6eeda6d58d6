import { GraphQLScalarType } from 'graphql';
import { GraphQLDateTime } from 'graphql-scalars';

/**
 * The `DateTime` scalar: graphql-scalars' own (same name, description, input parsing and validation),
 * serialized straight to its RFC 3339 text. graphql-scalars hands a `Date` to the response encoder, whose
 * `toJSON` call per value costs more than the `toISOString` done here; the response text is the same.
 */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  ...GraphQLDateTime.toConfig(),
  serialize: (value) => GraphQLDateTime.serialize(value).toISOString(),
});
