import { Arg, Ctx, Field, ObjectType, Query, Resolver, registerEnumType } from 'type-graphql';
import { normalizeFilter } from '../audit/audit-filter';
import type { Context } from '../context';
import { AuditEventFilterInput, AuditEventOrder } from '../types/audit-event-filter.input';

enum ExportFormat {
  CSV = 'CSV',
  NDJSON = 'NDJSON',
}
registerEnumType(ExportFormat, {
  name: 'ExportFormat',
  description: 'The file format of an export (docs/export.md).',
  valuesConfig: {
    CSV: { description: 'RFC 4180 CSV with a header line; formula cells neutralised.' },
    NDJSON: { description: 'One JSON object per line.' },
  },
});

@ObjectType('ExportLink', { description: 'A short-lived signed download of an export: no token needed to follow it.' })
class ExportLinkType {
  @Field({ description: 'The link, relative to this server (`/export?link=...&sig=...`): GET it before expiresAt.' })
  url!: string;

  @Field({
    description:
      "The same link for the file's manifest (`/export/manifest?...`): its SHA-256, its periods and their seals, signed.",
  })
  manifestUrl!: string;

  @Field(() => Date, { description: 'When the link stops working.' })
  expiresAt!: Date;
}

/** Query.exportLink: a signed URL of GET /export for the caller's scope (docs/export.md#signed-links). */
@Resolver()
export class ExportResolver {
  @Query(() => ExportLinkType, {
    description:
      "A signed link (HMAC, 15 minutes) that downloads the events of the filter as a file, confined to the caller's services, without handing over the token.",
  })
  exportLink(
    @Arg('filter', () => AuditEventFilterInput, { nullable: true, description: 'Which events; omitted = all.' })
    filter: AuditEventFilterInput | null,
    @Arg('format', () => ExportFormat, { defaultValue: ExportFormat.CSV, description: 'The file format.' })
    format: ExportFormat,
    @Arg('orderBy', () => AuditEventOrder, {
      defaultValue: AuditEventOrder.TIME_ASC,
      description: 'Order of the lines.',
    })
    orderBy: AuditEventOrder,
    @Ctx() ctx: Context,
  ): ExportLinkType {
    // Refused now rather than when the link is followed.
    normalizeFilter(filter, ctx.auth);
    const f: Record<string, unknown> = { ...(filter ?? {}) };
    for (const key of ['from', 'to'])
      if (f[key] instanceof Date) f[key] = f[key].toISOString();
      else if (f[key] === undefined) delete f[key];
    const link = ctx.deps.exportLinks.sign({ format: format.toLowerCase(), order: orderBy, filter: f }, ctx.auth);
    return {
      url: link.path,
      manifestUrl: link.path.replace(/^\/export\?/, '/export/manifest?'),
      expiresAt: link.expiresAt,
    };
  }
}
