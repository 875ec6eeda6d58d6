import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, FieldResolver, ID, Info, Mutation, Query, Resolver, Root } from 'type-graphql';
import { RULES } from '../../detect/catalog';
import { openAuditConnection, type AuditConnectionSource } from '../audit/audit-connection';
import { AuditEventOrder } from '../types/audit-event-filter.input';
import { AuditEventConnectionType } from '../types/connection.types';
import { mayReadService } from '../auth-scope';
import type { Context } from '../context';
import { apiError, badInput } from '../errors';
import { openFindingConnection, type FindingConnectionSource } from '../findings/finding-connection';
import { acknowledge } from '../findings/findings.repository';
import { ClientType, type ClientRef } from '../types/client.type';
import {
  DetectionRuleType,
  FindingConnectionType,
  FindingType,
  type FindingRecord,
  type FindingRule,
  type FindingSeverity,
} from '../types/finding.types';
import { FindingEventsArgs, FindingsArgs } from '../types/findings.args';
import { ServiceType, type ServiceRef } from '../types/service.type';

const MAX_NOTE = 2000;

/** Query.findings, Query.lunaDetectionRules, Mutation.acknowledgeFinding and the Finding's service and client. */
@Resolver(() => FindingType)
export class FindingsResolver {
  @Query(() => FindingConnectionType, {
    description:
      "What the detection rules found (docs/detection.md), newest first by first seen; confined to the caller's services.",
  })
  findings(@Args() args: FindingsArgs, @Ctx() ctx: Context): FindingConnectionSource {
    return openFindingConnection(ctx, args);
  }

  @Query(() => [DetectionRuleType], { description: 'The detection rules, with the settings in force.' })
  lunaDetectionRules(@Ctx() ctx: Context): DetectionRuleType[] {
    const s = ctx.deps.config.detection;
    return RULES.map((r) => ({
      code: r.code as FindingRule,
      severity: r.severity as FindingSeverity,
      title: r.title,
      description: r.description(s),
      enabled: s.rules.includes(r.code),
      settings: r.settings.map(({ variable, key }) => ({ variable, value: String(s[key]) })),
    }));
  }

  @Mutation(() => FindingType, {
    description:
      'Marks a finding acknowledged, recording who (the token subject), when and a note. Needs the scope audit:triage.',
  })
  async acknowledgeFinding(
    @Arg('id', () => ID, { description: 'The finding.' }) id: string,
    @Arg('note', () => String, { nullable: true, description: 'Why, or what was done (at most 2,000 characters).' })
    note: string | null,
    @Ctx() ctx: Context,
  ): Promise<FindingRecord> {
    if (!ctx.auth.triage)
      throw apiError('FORBIDDEN', 'acknowledging a finding needs a token with the scope "audit:triage"');
    if (!/^\d{1,18}$/.test(id)) throw badInput(`no finding has the id "${id.slice(0, 40)}"`, 'id');
    if (note !== null && note.length > MAX_NOTE)
      throw badInput(`the note is longer than ${MAX_NOTE} characters`, 'note');
    if (note?.includes('\0')) throw badInput('the note contains a NUL character', 'note');
    ctx.sqlQueries++;
    const done = await acknowledge(ctx.deps.db, id, ctx.auth.subject ?? 'anonymous', note, ctx.auth);
    if (!done) throw badInput(`no finding has the id "${id}"`, 'id');
    return done;
  }

  @FieldResolver(() => ServiceType, { description: 'The service it was seen on.' })
  service(@Root() f: FindingRecord, @Ctx() ctx: Context): ServiceRef {
    if (!mayReadService(ctx.auth, f.serviceId)) throw apiError('FORBIDDEN', "not in the caller's services");
    return { id: f.serviceId };
  }

  @FieldResolver(() => AuditEventConnectionType, {
    description:
      'Its evidence: the events of its service and client from first to last seen that match its rule (as many as its count), oldest first by default.',
  })
  events(
    @Root() f: FindingRecord,
    @Args() args: FindingEventsArgs,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ): AuditConnectionSource {
    const e = f.evidence;
    // The filter's bounds are milliseconds (DPoD's precision); `to` is exclusive, so it ends just after the last event.
    const source = openAuditConnection(
      ctx,
      {
        first: args.first,
        after: args.after,
        last: args.last,
        before: args.before,
        orderBy: args.orderBy ?? AuditEventOrder.TIME_ASC,
        filter: {
          from: new Date(Math.floor(Number(f.position.timeUs) / 1000)),
          to: new Date(Math.floor(Number(f.lastSeenUs) / 1000) + 1),
          serviceIds: [f.serviceId],
          ...(f.clientId !== null ? { clientIds: [f.clientId] } : {}),
          ...(e.kind === 'actions'
            ? { actions: e.actions, ...(e.okOnly ? { succeeded: true } : {}), ...(e.roles ? { roles: e.roles } : {}) }
            : {}),
          ...(e.kind === 'address' ? { clientIps: [e.prefix] } : {}),
        },
      },
      null,
      info,
    );
    if (e.kind === 'pin-failures') source.scope.filter.pinFailures = true;
    return source;
  }

  @FieldResolver(() => ClientType, { nullable: true, description: 'The client that acted.' })
  client(@Root() f: FindingRecord): ClientRef | null {
    return f.clientId === null ? null : { id: f.clientId, serviceId: f.serviceId };
  }
}
