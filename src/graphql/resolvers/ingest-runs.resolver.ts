import { Args, Ctx, Query, Resolver } from 'type-graphql';
import { parsePosition } from '../audit/audit-event';
import type { Context } from '../context';
import { apiError, invalidCursor } from '../errors';
import { parsePageArgs } from '../pagination/page-request';
import { fetchIngestRuns, type IngestRun } from '../runs/ingest-runs.repository';
import { ForwardPageArgs } from '../types/audit-events.args';
import { IngestRunConnectionType } from '../types/connection.types';
import { IngestRunType } from '../types/ingest-run.type';

function decodeRunCursor(cursor: string, argument: string) {
  const text = /^[A-Za-z0-9_-]{1,120}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const position = text.startsWith('ir1:') ? parsePosition(text.slice(4)) : null;
  if (!position) throw invalidCursor(argument);
  return position;
}

function runCursor(run: IngestRun): string {
  return Buffer.from(`ir1:${run.position.timeUs}:${run.position.id}`, 'utf8').toString('base64url');
}

/** Query.ingestRuns (operators only: callers confined to some services get FORBIDDEN). */
@Resolver(() => IngestRunType)
export class IngestRunsResolver {
  @Query(() => IngestRunConnectionType, {
    description: 'Ingest runs, newest first (callers confined to some services may not read them).',
  })
  async ingestRuns(@Args() args: ForwardPageArgs, @Ctx() ctx: Context) {
    if (ctx.auth.serviceIds !== null)
      throw apiError('FORBIDDEN', 'ingestRuns is only available to callers not confined to some services');
    const request = parsePageArgs(
      { first: args.first, after: args.after },
      ctx.deps.config.limits.maxPageSize,
      decodeRunCursor,
    );
    ctx.sqlQueries++;
    const page = await fetchIngestRuns(ctx.deps.readDb ?? ctx.deps.db, request);
    const edges = page.runs.map((node) => ({ cursor: runCursor(node), node }));
    return {
      edges,
      nodes: page.runs,
      pageInfo: {
        hasNextPage: page.hasNextPage,
        hasPreviousPage: page.hasPreviousPage,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges[edges.length - 1]?.cursor ?? null,
      },
      totalCount: page.totalCount,
    };
  }
}
