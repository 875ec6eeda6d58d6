import { ArgsType, Field } from 'type-graphql';
import { AuditEventOrder } from './audit-event-filter.input';
import { FindingFilterInput } from './finding.types';
import { CursorPageArgs } from './page.args';

/** Arguments of every findings connection field (Query, Service and Client .findings). */
@ArgsType()
export class FindingsArgs extends CursorPageArgs {
  @Field(() => FindingFilterInput, {
    nullable: true,
    description: 'Which findings; omitted = all (that the caller may see).',
  })
  filter?: FindingFilterInput | null;
}

/** Arguments of Finding.events. */
@ArgsType()
export class FindingEventsArgs extends CursorPageArgs {
  @Field(() => AuditEventOrder, { nullable: true, description: 'Order of the events (default oldest first).' })
  orderBy?: AuditEventOrder | null;
}
