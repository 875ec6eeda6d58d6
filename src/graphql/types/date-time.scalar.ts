import { GraphQLScalarType } from 'graphql';
import { GraphQLDateTime } from 'graphql-scalars';

/**
 * The `DateTime` scalar: graphql-scalars' own (same name, description, input parsing and validation),
 * serialized straight to its RFC 3339 text. graphql-scalars hands a `Date` to the response encoder, whose
 * `toJSON` call per value costs more than the `toISOString` done here; the response text is the same.
 */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  ...GraphQLDateTime.toConfig(),
  // A valid Date (what every resolver returns) is printed directly; anything else is checked by graphql-scalars.
  serialize: (value) =>
    value instanceof Date && !Number.isNaN(value.getTime())
      ? value.toISOString()
      : GraphQLDateTime.serialize(value).toISOString(),
});
