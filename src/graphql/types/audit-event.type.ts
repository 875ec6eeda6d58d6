import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The parsed meta section of an audit record. */
@ObjectType('AuditMeta', { simpleResolvers: true, description: 'The meta section of an audit record, parsed.' })
export class AuditMetaType {
  @Field(() => String, { nullable: true, description: 'Egress IP address of the client that acted (meta clientip).' })
  clientIp!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Serial number of the HSM where the action took place (meta hsmid).',
  })
  hsmId!: string | null;

  @Field(() => [String], { description: 'Identifiers of the target objects (meta ouids); empty when none.' })
  objectIds!: string[];

  @Field(() => String, { nullable: true, description: 'Serial number of the partition (meta partid).' })
  partitionSerial!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Role that acted: PO, CO, CU, or public when unauthenticated (meta role).',
  })
  role!: string | null;

  @Field({ description: 'True when the meta text could not be parsed; see raw.' })
  malformed!: boolean;

  @Field(() => String, { nullable: true, description: 'The meta as received, verbatim.' })
  raw!: string | null;
}

/** One audit event (the resolvers' source is the domain `AuditEvent`). */
@ObjectType('AuditEvent', { simpleResolvers: true, description: 'One operation recorded by a Luna Cloud HSM service.' })
@Directive('@key(fields: "id")')
export class AuditEventType {
  @Field(() => ID, { description: 'Opaque global id; pass it to Query.auditEvent.' })
  id!: string;

  @Field(() => Date, { description: 'When the operation happened (UTC; DPoD logs with one-second granularity).' })
  time!: Date;

  @Field({ description: 'Record source, thales/cloudhsm/<partition id>.' })
  source!: string;

  @Field({ description: 'The partition id taken from source.' })
  partitionId!: string;

  @Field(() => String, { nullable: true, description: 'DPoD tenant id (tenantID).' })
  tenantId!: string | null;

  @Field(() => String, { nullable: true, description: 'Trace id of the record (traceID).' })
  traceId!: string | null;

  @Field({ description: 'Action code, e.g. LUNA_SIGN (unknown future codes are kept as received).' })
  action!: string;

  @Field({ description: 'Outcome: LUNA_RET_OK on success, else a LUNA_RET_* return code name.' })
  status!: string;

  @Field({ description: 'True when status is LUNA_RET_OK.' })
  succeeded!: boolean;

  @Field(() => AuditMetaType, { description: 'The parsed meta section of the record.' })
  meta!: AuditMetaType;
}
