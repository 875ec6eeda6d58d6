import { expect } from '@jest/globals';
import { sql, type RawBuilder } from 'kysely';
import type { AggregateNeed } from '../../src/graphql/audit/audit-aggregate';
import { computeAggregates } from '../../src/graphql/audit/audit-aggregate.repository';
import { normalizeFilter, rollupCanAnswer, type AuditFilterInput } from '../../src/graphql/audit/audit-filter';
import { UNRESTRICTED } from '../../src/graphql/auth-scope';
import { startGraphqlFixture, type GraphqlFixture } from './support/graphql-fixture';

let f: GraphqlFixture;
beforeAll(async () => {
  f = await startGraphqlFixture({ seed: 5, services: 3, clientsPerService: 3, eventsPerDay: 250, days: 3 });
});
afterAll(() => f?.stop());

const AGG = `query Agg($filter: AuditEventFilter) {
  auditEvents(filter: $filter, first: 1) {
    totalCount
    aggregate {
      count succeeded failed failureRate distinctClients distinctServices first last
      byAction { key count } byStatus { key count } byRole { key count }
      byClient { client { id } count } byService { service { id } count }
      hour: timeline(interval: HOUR) { start count failed }
      day: timeline(interval: DAY) { start count failed }
      week: timeline(interval: WEEK) { start count failed }
      month: timeline(interval: MONTH) { start count failed }
    }
  }
}`;

/** A deterministic pseudo-random generator (tests must be reproducible). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** The filter as an SQL condition over audit_events, written independently of the code under test. */
function whereOf(filter: AuditFilterInput): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [sql`true`];
  const lists = [filter.serviceIds, filter.clientIds, filter.actions, filter.statuses, filter.roles, filter.hsmIds];
  if (lists.some((l) => l != null && l.length === 0)) return sql`false`;
  if (filter.from) parts.push(sql`time >= ${filter.from.toISOString()}::timestamptz`);
  if (filter.to) parts.push(sql`time < ${filter.to.toISOString()}::timestamptz`);
  if (filter.serviceIds) parts.push(sql`service_id in (${sql.join(filter.serviceIds)})`);
  if (filter.clientIds) parts.push(sql`client_id in (${sql.join(filter.clientIds)})`);
  if (filter.actions) parts.push(sql`action in (${sql.join(filter.actions)})`);
  if (filter.statuses) parts.push(sql`status in (${sql.join(filter.statuses)})`);
  if (filter.roles) parts.push(sql`role in (${sql.join(filter.roles)})`);
  if (filter.succeeded != null)
    parts.push(filter.succeeded ? sql`status = 'LUNA_RET_OK'` : sql`status <> 'LUNA_RET_OK'`);
  if (filter.hsmIds) parts.push(sql`hsm_id in (${sql.join(filter.hsmIds)})`);
  return sql.join(parts, sql` and `);
}

const sortBuckets = (rows: { key: string; count: number }[]) =>
  rows.sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1));

/** What the aggregate must be, by plain GROUP BY over the events. */
async function expectedAggregate(filter: AuditFilterInput) {
  const where = whereOf(filter);
  const db = f.t.db;
  const groupBy = async (expr: RawBuilder<unknown>) =>
    sortBuckets(
      (
        await sql<{
          key: string;
          count: number;
        }>`select ${expr} as key, count(*)::int as count from audit_events where ${where} group by 1`.execute(db)
      ).rows,
    );
  const timeline = async (unit: string) =>
    (
      await sql<{ start: Date; count: number; failed: number }>`
      select date_trunc(${sql.lit(unit)}, time at time zone 'UTC') at time zone 'UTC' as start, count(*)::int as count,
             (count(*) filter (where status <> 'LUNA_RET_OK'))::int as failed
        from audit_events where ${where} group by 1 order by 1`.execute(db)
    ).rows.map((r) => ({ ...r, start: r.start.toISOString() }));
  const totals = (
    await sql<{ count: number; failed: number; first: Date | null; last: Date | null }>`
      select count(*)::int as count, (count(*) filter (where status <> 'LUNA_RET_OK'))::int as failed, min(time) as first, max(time) as last
        from audit_events where ${where}`.execute(db)
  ).rows[0]!;
  const byClient = await groupBy(sql`client_id`);
  const byService = await groupBy(sql`service_id`);
  return {
    totalCount: totals.count,
    aggregate: {
      count: totals.count,
      succeeded: totals.count - totals.failed,
      failed: totals.failed,
      failureRate: totals.count === 0 ? 0 : totals.failed / totals.count,
      distinctClients: byClient.length,
      distinctServices: byService.length,
      first: totals.first?.toISOString() ?? null,
      last: totals.last?.toISOString() ?? null,
      byAction: await groupBy(sql`action`),
      byStatus: await groupBy(sql`status`),
      byRole: await groupBy(sql`coalesce(role, '(none)')`),
      byClient: byClient.map((b) => ({ client: { id: b.key }, count: b.count })),
      byService: byService.map((b) => ({ service: { id: b.key }, count: b.count })),
      hour: await timeline('hour'),
      day: await timeline('day'),
      week: await timeline('week'),
      month: await timeline('month'),
    },
  };
}

/** A random filter expressible in the rollups (hour-aligned bounds, rollup dimensions only). */
async function randomFilter(next: () => number): Promise<AuditFilterInput> {
  const pick = <T>(values: T[], max = 2): T[] => values.filter(() => next() < max / Math.max(values.length, 1));
  const distinct = async (col: string) =>
    (
      await sql<{
        v: string;
      }>`select distinct ${sql.ref(col)} as v from audit_events where ${sql.ref(col)} is not null order by 1`.execute(
        f.t.db,
      )
    ).rows.map((r) => r.v);
  const filter: AuditFilterInput = {};
  const hour = 3_600_000;
  const start = Math.floor(f.from.getTime() / hour) * hour;
  if (next() < 0.6) filter.from = new Date(start + Math.floor(next() * 40) * hour);
  if (next() < 0.6) filter.to = new Date(start + (20 + Math.floor(next() * 60)) * hour);
  if (next() < 0.5) filter.serviceIds = pick(await distinct('service_id'), 1.5);
  if (next() < 0.3) filter.clientIds = pick(await distinct('client_id'), 4);
  if (next() < 0.4) filter.actions = pick(await distinct('action'), 6);
  if (next() < 0.3) filter.statuses = pick(await distinct('status'), 3);
  if (next() < 0.3) filter.roles = pick(await distinct('role'), 2);
  if (next() < 0.3) filter.succeeded = next() < 0.5;
  return filter;
}

const wire = (filter: AuditFilterInput) => ({
  ...filter,
  from: filter.from?.toISOString(),
  to: filter.to?.toISOString(),
});

describe('AuditAggregate', () => {
  it('equals GROUP BY over the events for the whole store', async () => {
    const body = await f.gql(AGG, {});
    const expected = await expectedAggregate({});
    expect(body).toEqual({ data: { auditEvents: expected } });
    expect(expected.aggregate.count).toBeGreaterThan(1000);
  });

  it('equals GROUP BY for 25 random rollup-expressible filters, and every tier agrees', async () => {
    const next = rng(20261125);
    const all: AggregateNeed[] = [
      { kind: 'totals' },
      { kind: 'bounds' },
      ...(['action', 'status', 'role', 'client', 'service'] as const).map((dimension) => ({
        kind: 'dimension' as const,
        dimension,
      })),
      ...(['HOUR', 'DAY', 'WEEK', 'MONTH'] as const).map((interval) => ({ kind: 'timeline' as const, interval })),
    ];
    const dailyNeeds: AggregateNeed[] = [
      { kind: 'totals' },
      ...(['action', 'status', 'service'] as const).map((dimension) => ({ kind: 'dimension' as const, dimension })),
      ...(['DAY', 'WEEK', 'MONTH'] as const).map((interval) => ({ kind: 'timeline' as const, interval })),
    ];
    // What the per-client daily rollups (day, service, client, status) can answer.
    const clientNeeds: AggregateNeed[] = [
      { kind: 'totals' },
      ...(['status', 'client', 'service'] as const).map((dimension) => ({ kind: 'dimension' as const, dimension })),
      ...(['DAY', 'WEEK', 'MONTH'] as const).map((interval) => ({ kind: 'timeline' as const, interval })),
    ];
    let nonEmpty = 0;
    const tiers = new Set<string>();
    for (let i = 0; i < 25; i++) {
      const filter = await randomFilter(next);
      const normalized = normalizeFilter(filter, UNRESTRICTED);
      expect(rollupCanAnswer(normalized)).toBe(true);
      const body = await f.gql(AGG, { filter: wire(filter) });
      expect({ filter, result: body }).toEqual({
        filter,
        result: { data: { auditEvents: await expectedAggregate(filter) } },
      });
      for (const needs of [all, dailyNeeds]) {
        const [auto] = await computeAggregates(f.t.db, normalized, null, [null], needs, 'auto');
        const [hourly] = await computeAggregates(f.t.db, normalized, null, [null], needs, 'hourly');
        const [events] = await computeAggregates(f.t.db, normalized, null, [null], needs, 'events');
        if (!normalized.empty) {
          expect(hourly!.source).toBe('hourly');
          expect(auto!.source).toBe(needs === all || filter.clientIds || filter.roles ? 'hourly' : 'daily');
        }
        tiers.add(auto!.source);
        expect({ ...auto, source: 'x' }).toEqual({ ...events, source: 'x' });
        expect({ ...hourly, source: 'x' }).toEqual({ ...events, source: 'x' });
      }
      const [clientAuto] = await computeAggregates(f.t.db, normalized, null, [null], clientNeeds, 'auto');
      const [clientEvents] = await computeAggregates(f.t.db, normalized, null, [null], clientNeeds, 'events');
      if (!normalized.empty)
        expect(clientAuto!.source).toBe(filter.actions || filter.roles ? 'hourly' : 'daily-client');
      tiers.add(clientAuto!.source);
      expect({ ...clientAuto, source: 'x' }).toEqual({ ...clientEvents, source: 'x' });
      if (
        !normalized.empty &&
        (await computeAggregates(f.t.db, normalized, null, [null], [{ kind: 'totals' }]))[0]!.count > 0
      )
        nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(10);
    expect([...tiers].sort()).toEqual(expect.arrayContaining(['daily', 'daily-client', 'hourly']));
  });

  it('counts each client of a parent list from the per-client daily rollups, as the events count them', async () => {
    const clients = (
      await sql<{ c: string }>`select distinct client_id as c from audit_rollups_daily_client order by 1`.execute(
        f.t.db,
      )
    ).rows.map((r) => r.c);
    expect(clients.length).toBeGreaterThan(2);
    const needs: AggregateNeed[] = [{ kind: 'totals' }, { kind: 'dimension', dimension: 'status' }];
    const whole = normalizeFilter({}, UNRESTRICTED);
    const daily = await computeAggregates(f.t.db, whole, 'client_id', clients, needs);
    const events = await computeAggregates(f.t.db, whole, 'client_id', clients, needs, 'events');
    expect(daily.map((v) => v.source)).toEqual(clients.map(() => 'daily-client'));
    expect(daily.map((v) => ({ ...v, source: 'x' }))).toEqual(events.map((v) => ({ ...v, source: 'x' })));
    expect(daily.reduce((a, v) => a + v.count, 0)).toBeGreaterThan(0);
    // A marked per-client row shows in that client's count only: the tier really reads the table.
    await sql`update audit_rollups_daily_client set count = count + 1000
               where (day, service_id, client_id, status) = (select day, service_id, client_id, status
                 from audit_rollups_daily_client where client_id = ${clients[0]!} order by day limit 1)`.execute(
      f.t.db,
    );
    try {
      const marked = await computeAggregates(f.t.db, whole, 'client_id', clients, needs);
      expect(marked.map((v) => v.count)).toEqual(daily.map((v, i) => v.count + (i === 0 ? 1000 : 0)));
    } finally {
      await sql`update audit_rollups_daily_client set count = count - 1000
                 where (day, service_id, client_id, status) = (select day, service_id, client_id, status
                   from audit_rollups_daily_client where client_id = ${clients[0]!} order by day limit 1)`.execute(
        f.t.db,
      );
    }
  });

  it('keeps the per-client daily rollups equal to the hourly ones summed by day', async () => {
    const { rows } = await sql<{ diff: number; n: number }>`
      select (select count(*)::int from (
                (select day, service_id, client_id, status, count from audit_rollups_daily_client
                 except
                 select date_trunc('day', hour, 'UTC'), service_id, client_id, status, sum(count) from audit_rollups_hourly group by 1, 2, 3, 4)
                union all
                (select date_trunc('day', hour, 'UTC'), service_id, client_id, status, sum(count) from audit_rollups_hourly group by 1, 2, 3, 4
                 except
                 select day, service_id, client_id, status, count from audit_rollups_daily_client)) x) as diff,
             (select count(*)::int from audit_rollups_daily_client) as n`.execute(f.t.db);
    expect(rows[0]).toEqual({ diff: 0, n: expect.any(Number) });
    expect(rows[0]!.n).toBeGreaterThan(10);
  });

  it('keeps the daily rollups equal to the hourly ones summed by day', async () => {
    const { rows } = await sql<{ diff: number; n: number }>`
      select (select count(*)::int from (
                (select day, service_id, action, status, count from audit_rollups_daily
                 except
                 select date_trunc('day', hour, 'UTC'), service_id, action, status, sum(count) from audit_rollups_hourly group by 1, 2, 3, 4)
                union all
                (select date_trunc('day', hour, 'UTC'), service_id, action, status, sum(count) from audit_rollups_hourly group by 1, 2, 3, 4
                 except
                 select day, service_id, action, status, count from audit_rollups_daily)) x) as diff,
             (select count(*)::int from audit_rollups_daily) as n`.execute(f.t.db);
    expect(rows[0]).toEqual({ diff: 0, n: expect.any(Number) });
    expect(rows[0]!.n).toBeGreaterThan(10);
  });

  it('keeps the tenant-wide daily rollups equal to the daily ones summed over services', async () => {
    const { rows } = await sql<{ diff: number; n: number; services: number }>`
      select (select count(*)::int from (
                (select day, action, status, count from audit_rollups_daily_tenant
                 except
                 select day, action, status, sum(count) from audit_rollups_daily group by 1, 2, 3)
                union all
                (select day, action, status, sum(count) from audit_rollups_daily group by 1, 2, 3
                 except
                 select day, action, status, count from audit_rollups_daily_tenant)) x) as diff,
             (select count(*)::int from audit_rollups_daily_tenant) as n,
             (select count(distinct service_id)::int from audit_rollups_daily) as services`.execute(f.t.db);
    expect(rows[0]).toEqual({ diff: 0, n: expect.any(Number), services: expect.any(Number) });
    expect(rows[0]!.n).toBeGreaterThan(10);
    expect(rows[0]!.services).toBeGreaterThan(1);
  });

  it('reads whole days of a tenant-wide aggregate from the tenant-wide rollups, and of a service from the daily ones', async () => {
    const from = new Date(Math.ceil(f.from.getTime() / 86_400_000) * 86_400_000);
    const to = new Date(from.getTime() + 86_400_000);
    const needs: AggregateNeed[] = [{ kind: 'totals' }, { kind: 'dimension', dimension: 'status' }];
    const whole = normalizeFilter({ from, to }, UNRESTRICTED);
    const [before] = await computeAggregates(f.t.db, whole, null, [null], needs);
    const [events] = await computeAggregates(f.t.db, whole, null, [null], needs, 'events');
    expect({ ...before, source: 'x' }).toEqual({ ...events, source: 'x' });
    expect(before!.count).toBeGreaterThan(0);
    const service = (
      await sql<{ s: string }>`select service_id as s from audit_rollups_daily where day = ${from} limit 1`.execute(
        f.t.db,
      )
    ).rows[0]!.s;
    const oneService = normalizeFilter({ from, to, serviceIds: [service] }, UNRESTRICTED);
    const [serviceBefore] = await computeAggregates(f.t.db, oneService, null, [null], needs);
    // Mark one tenant-wide row: only the tenant-wide aggregate may see it.
    await sql`update audit_rollups_daily_tenant set count = count + 1000 where day = ${from} and status = (select min(status) from audit_rollups_daily_tenant where day = ${from})`.execute(
      f.t.db,
    );
    try {
      const [marked] = await computeAggregates(f.t.db, whole, null, [null], needs);
      const [serviceAfter] = await computeAggregates(f.t.db, oneService, null, [null], needs);
      expect(marked!.source).toBe('daily');
      expect(marked!.count).toBe(before!.count + 1000);
      expect(serviceAfter).toEqual(serviceBefore);
    } finally {
      await sql`update audit_rollups_daily_tenant set count = count - 1000 where day = ${from} and status = (select min(status) from audit_rollups_daily_tenant where day = ${from})`.execute(
        f.t.db,
      );
    }
  });

  it('counts whole days from the daily rollups and the partial days at both ends from the hourly ones', async () => {
    const filter: AuditFilterInput = {
      from: new Date(Math.ceil(f.from.getTime() / 3_600_000) * 3_600_000 + 5 * 3_600_000),
      to: new Date(f.to.getTime() - 3 * 3_600_000),
    };
    const normalized = normalizeFilter(filter, UNRESTRICTED);
    const needs: AggregateNeed[] = [
      { kind: 'totals' },
      { kind: 'dimension', dimension: 'action' },
      { kind: 'timeline', interval: 'DAY' },
    ];
    const [auto] = await computeAggregates(f.t.db, normalized, null, [null], needs);
    const [events] = await computeAggregates(f.t.db, normalized, null, [null], needs, 'events');
    expect(auto!.source).toBe('daily');
    expect({ ...auto, source: 'x' }).toEqual({ ...events, source: 'x' });
    expect(auto!.count).toBeGreaterThan(0);
  });

  it('answers from the events when the filter needs them (minutes, unaligned bounds, HSMs, IPs)', async () => {
    const hsm = (
      await sql<{ v: string }>`select hsm_id as v from audit_events where hsm_id is not null limit 1`.execute(f.t.db)
    ).rows[0]!.v;
    const filter: AuditFilterInput = {
      from: new Date(f.from.getTime() + 123_456),
      to: new Date(f.to.getTime() - 7_654_321),
      hsmIds: [hsm],
    };
    const body = await f.gql(AGG, { filter: wire(filter) });
    expect(body).toEqual({ data: { auditEvents: await expectedAggregate(filter) } });
    const minutes = await f.gql(
      `query($filter: AuditEventFilter) { auditEvents(filter: $filter) { aggregate { timeline(interval: MINUTE) { start count failed } } } }`,
      {
        filter: wire({ serviceIds: [f.sim.tenant.services[0]!.id], from: f.from, to: f.to }),
      },
    );
    const expected = (
      await sql<{ start: Date; count: number; failed: number }>`
      select date_trunc('minute', time) as start, count(*)::int as count, (count(*) filter (where status <> 'LUNA_RET_OK'))::int as failed
        from audit_events where service_id = ${f.sim.tenant.services[0]!.id} group by 1 order by 1`.execute(f.t.db)
    ).rows;
    expect(minutes).toEqual({
      data: { auditEvents: { aggregate: { timeline: expected.map((r) => ({ ...r, start: r.start.toISOString() })) } } },
    });
  });

  it('refuses a MINUTE timeline without filter.from or over more than 31 days, and serves one of exactly 31 days', async () => {
    const minutes = `query($filter: AuditEventFilter) { auditEvents(filter: $filter) { aggregate { count timeline(interval: MINUTE) { count } } } }`;
    const day = 86_400_000;
    const refused = {
      message: expect.stringContaining('timeline(interval: MINUTE) needs filter.from, and at most 31 days'),
      locations: [{ line: 1, column: expect.any(Number) }],
      path: ['auditEvents', 'aggregate', 'timeline'],
      extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }),
    };
    // Only the timeline: a sibling field's statement would still be running when the error answers the request.
    const onlyMinutes = `query($filter: AuditEventFilter) { auditEvents(filter: $filter) { aggregate { timeline(interval: MINUTE) { count } } } }`;
    for (const filter of [
      {},
      { to: f.to },
      { from: new Date(f.to.getTime() - 31 * day - 1), to: f.to },
      { from: new Date(Date.now() - 32 * day) },
    ]) {
      const body = await f.gql(onlyMinutes, { filter: wire(filter) });
      expect({ filter, errors: body.errors }).toEqual({ filter, errors: [refused] });
    }
    const ok = await f.gqlData<{ auditEvents: { aggregate: { count: number; timeline: { count: number }[] } } }>(
      minutes,
      { filter: wire({ from: new Date(f.to.getTime() - 31 * day), to: f.to }) },
    );
    const total = ok.auditEvents.aggregate.timeline.reduce((a, b) => a + b.count, 0);
    expect(total).toBe(ok.auditEvents.aggregate.count);
    expect(total).toBeGreaterThan(0);
  });

  it('computes the requested aggregate fields of every service together in one SQL query', async () => {
    const ids = f.sim.tenant.services.map((s) => s.id);
    const aliases = ids
      .map(
        (id, i) =>
          `s${i}: service(id: "${id}") { auditEvents(filter: { succeeded: false }) { aggregate { count failed byAction(limit: 3) { key count } timeline(interval: DAY) { start count } first last } } }`,
      )
      .join('\n');
    f.resetCounts();
    const data = await f.gqlData<Record<string, { auditEvents: { aggregate: unknown } }>>(`{ ${aliases} }`);
    expect(f.sqlCount()).toBe(1);
    for (const [i, id] of ids.entries()) {
      const e = (await expectedAggregate({ serviceIds: [id], succeeded: false })).aggregate;
      expect(data[`s${i}`]?.auditEvents.aggregate).toEqual({
        count: e.count,
        failed: e.failed,
        byAction: e.byAction.slice(0, 3),
        timeline: e.day.map(({ start, count }) => ({ start, count })),
        first: e.first,
        last: e.last,
      });
    }
  });

  it("confines aggregates to the caller's services", async () => {
    const [a, b] = f.sim.tenant.services.filter((s) => s.hasAuditData);
    const body = await f.gql(AGG, { filter: wire({ serviceIds: [a!.id, b!.id] }) }, { services: [a!.id] });
    expect(body).toEqual({ data: { auditEvents: await expectedAggregate({ serviceIds: [a!.id] }) } });
    const none = await f.gql(
      `{ auditEvents { totalCount aggregate { count byService { count } } } }`,
      {},
      { services: ['00000000-0000-4000-8000-000000000000'] },
    );
    expect(none).toEqual({ data: { auditEvents: { totalCount: 0, aggregate: { count: 0, byService: [] } } } });
  });
});
