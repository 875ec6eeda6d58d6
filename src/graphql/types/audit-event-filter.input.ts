import { Field, ID, InputType, registerEnumType } from 'type-graphql';

/** Order of audit event lists. */
export enum AuditEventOrder {
  TIME_ASC = 'TIME_ASC',
  TIME_DESC = 'TIME_DESC',
}
registerEnumType(AuditEventOrder, {
  name: 'AuditEventOrder',
  description: "Order of an audit event list: by time, ties broken by the event's internal sequence.",
  valuesConfig: {
    TIME_ASC: { description: 'Oldest first.' },
    TIME_DESC: { description: 'Newest first (the default).' },
  },
});

/** Filter of audit events; every condition given must hold. */
@InputType('AuditEventFilter', {
  description:
    'Narrows a list of audit events; every condition given must hold (AND). A list matches any of its values (OR); an empty list matches nothing.',
})
export class AuditEventFilterInput {
  @Field(() => Date, { nullable: true, description: 'Events at or after this instant (inclusive).' })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Events strictly before this instant (exclusive).' })
  to?: Date | null;

  @Field(() => [ID], { nullable: true, description: "DPoD service ids (the records' resourceID)." })
  serviceIds?: string[] | null;

  @Field(() => [ID], { nullable: true, description: "DPoD client ids (the records' actorID)." })
  clientIds?: string[] | null;

  @Field(() => [String], { nullable: true, description: 'Action codes, e.g. ["LUNA_SIGN", "LUNA_DECRYPT"].' })
  actions?: string[] | null;

  @Field(() => [String], { nullable: true, description: 'Statuses, e.g. ["LUNA_RET_UM_PIN_INCORRECT"].' })
  statuses?: string[] | null;

  @Field(() => Boolean, { nullable: true, description: 'true: only status LUNA_RET_OK; false: only failures.' })
  succeeded?: boolean | null;

  @Field(() => [String], { nullable: true, description: 'Roles from the meta: PO, CO, CU or public.' })
  roles?: string[] | null;

  @Field(() => [String], {
    nullable: true,
    description: 'Client egress IP addresses or CIDR blocks (IPv4 or IPv6), e.g. ["10.0.0.0/8", "192.0.2.7"].',
  })
  clientIps?: string[] | null;

  @Field(() => [String], { nullable: true, description: 'HSM serial numbers (meta hsmid).' })
  hsmIds?: string[] | null;

  @Field(() => String, {
    nullable: true,
    description: 'Events whose target objects (meta ouids) include this object id.',
  })
  objectId?: string | null;
}
