import { Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import type { Context } from '../context';
import {
  findingCursor,
  loadFindingCount,
  loadFindingPage,
  type FindingConnectionSource,
} from '../findings/finding-connection';
import { FindingConnectionType, FindingEdgeType, FindingType, type FindingRecord } from '../types/finding.types';
import { PageInfoType } from '../types/page-info.type';

/** The fields of FindingConnection: each reads through a batched loader. */
@Resolver(() => FindingConnectionType)
export class FindingConnectionResolver {
  @FieldResolver(() => [FindingEdgeType], { description: 'The findings of this page with their cursors.' })
  async edges(@Root() source: FindingConnectionSource, @Ctx() ctx: Context): Promise<FindingEdgeType[]> {
    const page = await loadFindingPage(ctx, source);
    return page.findings.map((node) => ({ cursor: findingCursor(node), node }));
  }

  @FieldResolver(() => [FindingType], { description: 'The findings of this page.' })
  async nodes(@Root() source: FindingConnectionSource, @Ctx() ctx: Context): Promise<FindingRecord[]> {
    return (await loadFindingPage(ctx, source)).findings;
  }

  @FieldResolver(() => PageInfoType, { description: 'Paging information.' })
  async pageInfo(@Root() source: FindingConnectionSource, @Ctx() ctx: Context): Promise<PageInfoType> {
    const page = await loadFindingPage(ctx, source);
    const first = page.findings[0];
    const last = page.findings[page.findings.length - 1];
    return {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: first ? findingCursor(first) : null,
      endCursor: last ? findingCursor(last) : null,
    };
  }

  @FieldResolver(() => Int, { description: 'Findings matching the filter, whatever the paging.' })
  async totalCount(@Root() source: FindingConnectionSource, @Ctx() ctx: Context): Promise<number> {
    return loadFindingCount(ctx, source);
  }
}
