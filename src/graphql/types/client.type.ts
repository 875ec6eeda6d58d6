import { Directive, Field, ID, ObjectType } from 'type-graphql';

/**
 * A DPoD client as the resolvers see it. `serviceId`: the service it is bound to or acted on;
 * null when unknown, undefined when not looked up yet.
 */
export interface ClientRef {
  id: string;
  serviceId?: string | null;
}

/** An application client of a service (a DPoD binding). */
@ObjectType('Client', {
  simpleResolvers: true,
  description:
    'An application client of a Luna Cloud HSM service (a DPoD service binding). Clients that were unbound still resolve, with bound = false.',
})
@Directive('@key(fields: "id")')
export class ClientType {
  @Field(() => ID, { description: "DPoD client id (UUID); the audit records' actorID." })
  id!: string;
}
