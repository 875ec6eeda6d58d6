import { ArgsType, Field, Int } from 'type-graphql';
import { AuditEventFilterInput, AuditEventOrder } from './audit-event-filter.input';
import { CursorPageArgs } from './page.args';

/** Arguments of every audit event connection field. */
@ArgsType()
export class AuditEventsArgs extends CursorPageArgs {
  @Field(() => AuditEventFilterInput, {
    nullable: true,
    description: 'Which events; omitted = all (that the caller may see).',
  })
  filter?: AuditEventFilterInput | null;

  @Field(() => AuditEventOrder, {
    nullable: true,
    defaultValue: AuditEventOrder.TIME_DESC,
    description: 'Order of the list (default newest first).',
  })
  orderBy?: AuditEventOrder | null;
}

/** Arguments of offset-paged connections (services, clients, ingest runs). */
@ArgsType()
export class ForwardPageArgs {
  @Field(() => Int, { nullable: true, description: 'Page size (default 50).' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'Read from after this cursor.' })
  after?: string | null;
}
