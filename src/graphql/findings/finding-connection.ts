import { parsePosition, type EventPosition } from '../audit/audit-event';
import type { Context } from '../context';
import { badInput, invalidCursor } from '../errors';
import { parsePageArgs, type PageArgs, type PageRequest } from '../pagination/page-request';
import type { FindingFilterInput, FindingRecord } from '../types/finding.types';
import type { FindingDimension, FindingPage, FindingScope } from './findings.repository';

/** The source object of a FindingConnection: what to read; reading happens in its fields, through loaders. */
export interface FindingConnectionSource {
  scope: FindingScope;
  parent: string | null;
  request: PageRequest<EventPosition>;
}

/** Arguments of a findings connection field. */
export interface FindingConnectionArgs extends PageArgs {
  filter?: FindingFilterInput | null;
}

function decodeFindingCursor(cursor: string, argument: string): EventPosition {
  const text = /^[A-Za-z0-9_-]{1,120}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const position = text.startsWith('fd1:') ? parsePosition(text.slice(4)) : null;
  if (!position) throw invalidCursor(argument);
  return position;
}

/** The cursor of a finding (the same on every findings connection). */
export function findingCursor(f: FindingRecord): string {
  return Buffer.from(`fd1:${f.position.timeUs}:${f.position.id}`, 'utf8').toString('base64url');
}

/**
 * Validates the arguments of Query.findings, Service.findings or Client.findings (`parent`: confined to that
 * service or client) and confines them to the caller's services.
 */
export function openFindingConnection(
  ctx: Context,
  args: FindingConnectionArgs,
  parent: { dimension: FindingDimension; id: string } | null = null,
): FindingConnectionSource {
  const f = args.filter ?? null;
  if (f?.from && f.to && f.from.getTime() >= f.to.getTime())
    throw badInput('filter.from must be before filter.to', 'filter.from');
  return {
    scope: { filter: f, serviceIds: ctx.auth.serviceIds, dimension: parent?.dimension ?? null },
    parent: parent?.id ?? null,
    request: parsePageArgs(args, ctx.deps.config.limits.maxPageSize, decodeFindingCursor),
  };
}

/** Loads the page of a findings connection (batched with sibling connections of the same scope and arguments). */
export function loadFindingPage(ctx: Context, source: FindingConnectionSource): Promise<FindingPage> {
  return ctx.loaders.findingPage.load({ scope: source.scope, parent: source.parent, request: source.request });
}

/** Loads the total of a findings connection (batched with sibling connections of the same scope). */
export function loadFindingCount(ctx: Context, source: FindingConnectionSource): Promise<number> {
  return ctx.loaders.findingCount.load({ scope: source.scope, parent: source.parent });
}
