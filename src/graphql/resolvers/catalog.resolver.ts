import { Query, Resolver } from 'type-graphql';
import { LUNA_ACTION_CATALOG, type LunaActionEntry } from '../catalog/luna-action-catalog';
import { LunaActionType } from '../types/luna-action.type';

/** Query.lunaActions. */
@Resolver(() => LunaActionType)
export class CatalogResolver {
  @Query(() => [LunaActionType], {
    description: 'The catalog of the 47 Luna Cloud HSM audit action codes, with what each means.',
  })
  lunaActions(): readonly LunaActionEntry[] {
    return LUNA_ACTION_CATALOG;
  }
}
