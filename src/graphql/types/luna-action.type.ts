import { Field, ObjectType } from 'type-graphql';

/** An entry of the Luna action catalog. */
@ObjectType('LunaAction', {
  simpleResolvers: true,
  description: 'A Luna Cloud HSM audit action code with what it means.',
})
export class LunaActionType {
  @Field({ description: 'The action code as it appears in audit records, e.g. LUNA_SIGN.' })
  code!: string;

  @Field({ description: 'What the action does, in one sentence.' })
  description!: string;

  @Field({
    description:
      'Family of the action: CRYPTO, DIGEST, KEY_MANAGEMENT, OBJECT_MANAGEMENT, CLONING, REPLICATION, AUTHENTICATION, PARTITION_ADMIN or SESSION.',
  })
  category!: string;
}
