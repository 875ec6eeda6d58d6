import { Field, ObjectType } from 'type-graphql';

/** Relay page information. */
@ObjectType('PageInfo', {
  simpleResolvers: true,
  description: 'Where this page sits in the whole list (Relay cursor connections).',
})
export class PageInfoType {
  @Field({
    description:
      'True when more items follow this page in the requested order (checked by reading one extra item, not by counting).',
  })
  hasNextPage!: boolean;

  @Field({ description: 'True when items precede this page in the requested order.' })
  hasPreviousPage!: boolean;

  @Field(() => String, {
    nullable: true,
    description: 'Cursor of the first item of this page; null when the page is empty.',
  })
  startCursor!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Cursor of the last item of this page; pass it as `after` for the next page. Null when the page is empty.',
  })
  endCursor!: string | null;
}
