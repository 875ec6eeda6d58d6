import { generateEvents } from '../../src/simulator/record-generator';
import {
  createTenant,
  generateRecords,
  renderRecordLine,
  summarizeRecords,
  type RawAuditRecord,
} from '../../src/simulator';
import { LUNA_ACTIONS } from '../../src/simulator/luna-catalog';

const NOW = new Date('2026-11-20T12:34:56.789Z');
const clock = () => NOW;
const DAY = 86_400_000;
const KEY_EXPORTS = ['LUNA_WRAP_KEY', 'LUNA_CLONE_AS_SOURCE', 'LUNA_REPLICATE_AS_SOURCE'];
const DPOD_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} UTC$/;

function lines(from: Date, to: Date, options: Parameters<typeof createTenant>[0] = {}): string[] {
  return [...generateRecords(createTenant({ now: clock, eventsPerDay: 600, days: 3, ...options }), from, to)].map(
    renderRecordLine,
  );
}

function field(record: RawAuditRecord, name: string): unknown {
  const key = Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : record[key];
}

function parseTime(text: string): number {
  return Date.parse(text.replace(' UTC', 'Z').replace(' ', 'T'));
}

describe('tenant', () => {
  it('is the same for the same seed and different for another', () => {
    const a = createTenant({ seed: 7 });
    const b = createTenant({ seed: 7 });
    const c = createTenant({ seed: 8 });
    expect(JSON.stringify(a.services)).toBe(JSON.stringify(b.services));
    expect(a.tenantId).toBe(b.tenantId);
    expect(c.services[0]!.id).not.toBe(a.services[0]!.id);
  });

  it('lists Luna services, services of other types, and hides one deleted service and the unbound clients', () => {
    const t = createTenant({ services: 4, clientsPerService: 3 });
    const listed = t.listedServices();
    expect(listed.map((s) => s.serviceType)).toEqual([
      'key_vault',
      'key_vault',
      'key_vault',
      'key_vault',
      'hsm_key_export',
      'ctaas',
    ]);
    expect(t.services.filter((s) => !s.listed).map((s) => s.serviceType)).toEqual(['key_vault']);
    for (const s of listed.filter((x) => x.hasAuditData)) {
      expect(s.clients.filter((c) => c.bound)).toHaveLength(3);
      expect(s.clients.filter((c) => !c.bound)).toHaveLength(1);
      expect(s.partitionSerialNumber).toMatch(/^\d{13}$/);
    }
    expect(new Set(t.services.map((s) => s.id)).size).toBe(t.services.length);
  });
});

describe('generateRecords', () => {
  const from = new Date('2026-11-19T00:00:00Z');
  const to = new Date('2026-11-20T00:00:00Z');

  it('yields the same lines for the same seed, other lines for another seed', () => {
    const a = lines(from, to);
    expect(a.length).toBeGreaterThan(2000);
    expect(lines(from, to)).toEqual(a);
    expect(lines(from, to, { seed: 43 })).not.toEqual(a);
  });

  it('gives any window the same events for the same hours', () => {
    const whole = lines(from, to);
    const mid = new Date('2026-11-19T13:27:41.500Z');
    expect([...lines(from, mid), ...lines(mid, to)]).toEqual(whole);
    const hour = lines(new Date('2026-11-19T05:00:00Z'), new Date('2026-11-19T06:00:00Z'));
    expect(whole.filter((l) => l.includes('"time":"2026-11-19 05:'))).toEqual(hour);
  });

  it('writes records in time order, inside [from, to), in DPoD time format, as valid JSON', () => {
    let previous = from.getTime();
    const bad: string[] = [];
    for (const line of lines(from, to)) {
      const r = JSON.parse(line) as RawAuditRecord;
      const ms = parseTime(r.time as string);
      if (!DPOD_TIME.test(r.time as string) || ms < previous || ms >= to.getTime()) bad.push(line);
      previous = ms;
    }
    expect(bad).toEqual([]);
  });

  it('has events only in the history [now - days, now)', () => {
    const all = lines(new Date('2026-11-01T00:00:00Z'), new Date('2026-12-01T00:00:00Z'));
    const times = all.map((l) => parseTime((JSON.parse(l) as { time: string }).time));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(NOW.getTime() - 3 * 86_400_000);
    expect(Math.max(...times)).toBeLessThan(NOW.getTime());
    expect(Math.max(...times)).toBeGreaterThan(NOW.getTime() - 3_600_000);
  });

  it('shows new events once the clock moves on', () => {
    let now = NOW.getTime();
    const t = createTenant({ now: () => new Date(now), eventsPerDay: 2000, days: 1 });
    const window = [new Date(NOW.getTime() - 3_600_000), new Date(NOW.getTime() + 3_600_000)] as const;
    const before = [...generateRecords(t, ...window)].map(renderRecordLine);
    now += 20 * 60_000;
    const after = [...generateRecords(t, ...window)].map(renderRecordLine);
    expect(after.length).toBeGreaterThan(before.length);
    expect(after.slice(0, before.length)).toEqual(before);
  });

  it('produces the variants of real exports', () => {
    const t = createTenant({ now: clock, eventsPerDay: 3000, days: 3 });
    const records = [...generateRecords(t, new Date(0), NOW)];
    const has = (pred: (r: RawAuditRecord) => boolean) => records.filter(pred).length;
    const listed = new Set(t.listedServices().map((s) => s.id));
    const boundClients = new Set(t.services.flatMap((s) => s.clients.filter((c) => c.bound).map((c) => c.id)));
    const meta = (r: RawAuditRecord) => {
      const m = field(r, 'meta');
      if (typeof m !== 'string') return m as Record<string, unknown>;
      try {
        return JSON.parse(m) as Record<string, unknown>;
      } catch {
        return null;
      }
    };
    expect(has((r) => 'resourceid' in r)).toBeGreaterThan(0);
    expect(has((r) => 'resourceID' in r)).toBeGreaterThan(records.length * 0.95);
    expect(has((r) => typeof r.meta === 'object')).toBeGreaterThan(0);
    expect(has((r) => typeof field(r, 'meta') === 'string')).toBeGreaterThan(records.length * 0.9);
    expect(has((r) => meta(r) === null)).toBeGreaterThan(0);
    expect(has((r) => meta(r)?.role === 'public')).toBeGreaterThan(0);
    expect(has((r) => meta(r) !== null && !('ouids' in meta(r)!))).toBeGreaterThan(0);
    expect(has((r) => meta(r)?.ouids === null)).toBeGreaterThan(0);
    expect(has((r) => r.action === 'LUNA_FUTURE_OP')).toBeGreaterThan(0);
    expect(has((r) => r.status === 'LUNA_RET_UM_PIN_INCORRECT')).toBeGreaterThan(0);
    expect(
      has((r) => r.status === 'LUNA_RET_KEY_HANDLE_INVALID' || r.status === 'LUNA_RET_OBJECT_HANDLE_INVALID'),
    ).toBeGreaterThan(0);
    expect(has((r) => !listed.has(field(r, 'resourceID') as string))).toBeGreaterThan(0);
    expect(has((r) => !boundClients.has(field(r, 'actorID') as string))).toBeGreaterThan(0);
    const actions = new Set(records.map((r) => r.action));
    expect(LUNA_ACTIONS.filter((a) => !actions.has(a))).toEqual([]);
    const partitions = new Map(t.services.map((s) => [s.id, s.partitionSerialNumber]));
    const odd = records.filter(
      (r) =>
        field(r, 'source') !== `thales/cloudhsm/${partitions.get(field(r, 'resourceID') as string)}` ||
        field(r, 'tenantID') !== t.tenantId ||
        !/^[A-Za-z0-9_-]{43}$/.test(field(r, 'traceID') as string),
    );
    expect(odd).toEqual([]);
    // Multi-part operations: an INIT and its END in the same second of the same client.
    const seconds = new Set(
      records
        .filter((r) => r.action === 'LUNA_SIGN_INIT')
        .map((r) => `${String(field(r, 'actorID'))}|${(r.time as string).slice(0, 19)}`),
    );
    expect(
      records.filter(
        (r) =>
          r.action === 'LUNA_SIGN_END' &&
          seconds.has(`${String(field(r, 'actorID'))}|${(r.time as string).slice(0, 19)}`),
      ).length,
    ).toBeGreaterThan(0);
  });
});

describe('routine traffic', () => {
  const t = createTenant({ now: clock, eventsPerDay: 4000, days: 14 });
  const events = [...generateEvents(t, new Date(0), NOW)];

  it('mistypes a PIN at most three times in a row before a login, and never locks a partition', () => {
    const failures = new Map<string, number>();
    let longest = 0;
    for (const e of events) {
      if (e.action !== 'LUNA_LOGIN') continue;
      const k = `${e.serviceId}|${e.clientId}`;
      const n = e.status === 'LUNA_RET_OK' ? 0 : (failures.get(k) ?? 0) + 1;
      failures.set(k, n);
      longest = Math.max(longest, n);
    }
    expect(longest).toBe(3);
    expect(events.filter((e) => e.status.includes('LOCKED'))).toEqual([]);
  });

  it('has one exporter per service, which wraps a key every night; no other client exports', () => {
    const exports = events.filter((e) => KEY_EXPORTS.includes(e.action));
    const exporters = new Set(t.services.flatMap((s) => s.clients.filter((c) => c.exporter).map((c) => c.id)));
    expect(exports.filter((e) => !exporters.has(e.clientId))).toEqual([]);
    const nights = new Set(
      exports.filter((e) => new Date(e.ms).getUTCHours() === 2).map((e) => `${e.clientId}|${Math.floor(e.ms / DAY)}`),
    );
    expect(nights.size).toBe(t.services.filter((s) => s.hasAuditData).length * 14);
  });

  it('holds no event of an unbound client of a listed service in its last two days', () => {
    const unbound = new Set(
      t.listedServices().flatMap((s) => s.clients.filter((c) => !c.bound).map((c) => `${s.id}|${c.id}`)),
    );
    const last = Math.max(...events.filter((e) => unbound.has(`${e.serviceId}|${e.clientId}`)).map((e) => e.ms));
    expect(last).toBeLessThan(Date.UTC(2026, 10, 18));
  });
});

describe('summarizeRecords', () => {
  it('counts exactly what generateRecords yields', () => {
    const t = createTenant({ now: clock, eventsPerDay: 1500, days: 2 });
    const from = new Date('2026-11-19T00:00:00Z');
    const records = [...generateRecords(t, from, NOW)];
    const summary = summarizeRecords(t, from, NOW);
    const count = (key: (r: RawAuditRecord) => string) => {
      const out: Record<string, number> = {};
      for (const r of records) out[key(r)] = (out[key(r)] ?? 0) + 1;
      return out;
    };
    const rendered = records.map(renderRecordLine);
    let extras = 0;
    for (let i = 1; i < rendered.length; i++) if (rendered[i] === rendered[i - 1]) extras++;
    const malformed = records.filter((r) => {
      const m = field(r, 'meta');
      if (typeof m !== 'string') return false;
      try {
        JSON.parse(m);
        return false;
      } catch {
        return true;
      }
    }).length;
    expect(summary).toEqual({
      total: records.length,
      byService: count((r) => field(r, 'resourceID') as string),
      byClient: count((r) => field(r, 'actorID') as string),
      byAction: count((r) => r.action as string),
      byStatus: count((r) => r.status as string),
      identicalSameSecondExtras: extras,
      malformedMeta: malformed,
    });
    expect(summary.identicalSameSecondExtras).toBeGreaterThan(0);
    expect(summary.malformedMeta).toBeGreaterThan(0);
    expect(new Set(rendered).size).toBe(records.length - extras);
  });
});
