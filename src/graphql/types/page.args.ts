import { ArgsType, Field, Int } from 'type-graphql';

/** The Relay paging arguments of every keyset-paged connection field (audit events, findings). */
@ArgsType()
export class CursorPageArgs {
  @Field(() => Int, { nullable: true, description: 'Page size reading forwards (default 50, at most 500 by default).' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'Read forwards from after this cursor.' })
  after?: string | null;

  @Field(() => Int, { nullable: true, description: 'Page size reading backwards from the end (or from before).' })
  last?: number | null;

  @Field(() => String, { nullable: true, description: 'Read backwards from before this cursor.' })
  before?: string | null;
}
