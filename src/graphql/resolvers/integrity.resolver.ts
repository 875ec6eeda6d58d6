import { createPublicKey } from 'node:crypto';
import DataLoader from 'dataloader';
import { Arg, Ctx, FieldResolver, Query, Resolver, Root } from 'type-graphql';
import { closedBefore } from '../../integrity';
import { fetchInclusionProofs, type EventAt, type InclusionProof } from '../../integrity/inclusion';
import { withKyselyClient } from '../../integrity/sql-client';
import { verifyWith, type PeriodReport } from '../../integrity/verifier';
import type { AuditEvent } from '../audit/audit-event';
import type { Context } from '../context';
import { badInput } from '../errors';
import { AuditEventType } from '../types/audit-event.type';
import {
  InclusionProofType,
  IntegrityFilterInput,
  IntegrityReportType,
  IntegrityStatus,
  type IntegrityPeriodType,
} from '../types/integrity.types';

/** The longest range one `integrity` query checks; longer ones belong to `dpod-audit verify`. */
export const MAX_INTEGRITY_RANGE_DAYS = 31;

const proofLoaders = new WeakMap<Context, DataLoader<EventAt, InclusionProof | null, string>>();

function proofLoader(ctx: Context): DataLoader<EventAt, InclusionProof | null, string> {
  let loader = proofLoaders.get(ctx);
  if (!loader) {
    loader = new DataLoader<EventAt, InclusionProof | null, string>(
      (events) => {
        ctx.sqlQueries += 2;
        return withKyselyClient(ctx.deps.readDb ?? ctx.deps.db, (client) => fetchInclusionProofs(client, events));
      },
      { cacheKeyFn: (e) => `${e.timeUs}:${e.id}` },
    );
    proofLoaders.set(ctx, loader);
  }
  return loader;
}

const toPeriod = (p: PeriodReport): IntegrityPeriodType => ({
  start: p.periodStart,
  service: { id: p.serviceId },
  eventCount: p.eventCount,
  root: p.root,
  sealedAt: p.sealedAt,
  version: p.version,
  status: IntegrityStatus[p.status],
  missing: p.missing,
  added: p.added,
  changed: p.changed,
  problem: p.problem,
});

/** Query.integrity and AuditEvent.inclusionProof: the store checked against its seals. */
@Resolver(() => AuditEventType)
export class IntegrityResolver {
  @Query(() => IntegrityReportType, {
    description: `Recomputes the sealed periods in range from the stored events and checks their chain and signatures (at most ${MAX_INTEGRITY_RANGE_DAYS} days per query; longer ranges: dpod-audit verify).`,
  })
  async integrity(
    @Arg('filter', () => IntegrityFilterInput, {
      nullable: true,
      description: 'Which periods to check (default: the last 24 hours of every service the caller may read).',
    })
    filter: IntegrityFilterInput | null,
    @Ctx() ctx: Context,
  ): Promise<IntegrityReportType> {
    const now = new Date();
    const to = filter?.to ?? now;
    const from = filter?.from ?? new Date(to.getTime() - 86_400_000);
    if (from.getTime() >= to.getTime()) throw badInput('filter.from must be before filter.to', 'filter');
    if (to.getTime() - from.getTime() > MAX_INTEGRITY_RANGE_DAYS * 86_400_000)
      throw badInput(
        `integrity checks at most ${MAX_INTEGRITY_RANGE_DAYS} days per query; use dpod-audit verify for longer ranges`,
        'filter',
      );
    const allowed = ctx.auth.serviceIds;
    const asked = filter?.serviceIds ?? null;
    const serviceIds = allowed === null ? asked : (asked ?? allowed).filter((id) => allowed.includes(id));
    const { config } = ctx.deps;
    const key = config.integrity.signingKey?.publicKey ?? null;
    ctx.sqlQueries++;
    const report = await withKyselyClient(ctx.deps.readDb ?? ctx.deps.db, (client) =>
      verifyWith(client, {
        from,
        to,
        serviceIds: serviceIds ?? undefined,
        closedBefore: closedBefore(now, (config.ingest.overlapSeconds + config.integrity.graceSeconds) * 1000),
        publicKey: key ? createPublicKey(key.pem) : null,
      }),
    );
    const periods = report.periods.map(toPeriod);
    return {
      verified: report.verified,
      periods,
      firstMismatch: periods.find((p) => p.status === IntegrityStatus.MISMATCH) ?? null,
      chainProblems: report.chainProblems,
      publicKey: key,
    };
  }

  @FieldResolver(() => InclusionProofType, {
    nullable: true,
    description:
      "The Merkle path from this event to its period's sealed root; null while the period is not sealed, or when the seal does not hold the event as stored (see integrity).",
  })
  inclusionProof(@Root() event: AuditEvent, @Ctx() ctx: Context): Promise<InclusionProof | null> {
    return proofLoader(ctx).load(event.position);
  }
}
