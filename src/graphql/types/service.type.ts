import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** A DPoD service as the resolvers see it: the id, plus the DPoD record when already known. */
export interface ServiceRef {
  id: string;
}

/** A Luna Cloud HSM service instance. */
@ObjectType('Service', {
  simpleResolvers: true,
  description:
    'A Luna Cloud HSM service instance. Live fields come from the DPoD platform API (cached); audit fields from the store. Any service id resolves, known to DPoD or not.',
})
@Directive('@key(fields: "id")')
export class ServiceType {
  @Field(() => ID, { description: "DPoD service id (UUID); the audit records' resourceID." })
  id!: string;
}
