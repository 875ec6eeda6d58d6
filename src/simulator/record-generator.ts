import {
  ADMIN_WEIGHTS,
  EXPORT_SUBSTITUTES,
  FAILURES,
  FUTURE_ACTION,
  KEY_MANAGEMENT_WEIGHTS,
  MULTI_PART_FAMILIES,
  RET_OK,
  SINGLE_PART_WEIGHTS,
} from './luna-catalog';
import { SeededRandom, mixSeed } from './seeded-random';
import type { SimClient, SimService, Tenant } from './tenant';

/** One audit record exactly as DPoD writes it (field names and casing vary, so it is a plain JSON object). */
export type RawAuditRecord = Record<string, unknown>;

/** A generated record with what the generator knows about it (for summaries). */
export interface GeneratedEvent {
  /** Event time in ms since epoch. */
  ms: number;
  record: RawAuditRecord;
  serviceId: string;
  clientId: string;
  action: string;
  status: string;
  /** True for an exact copy of the previous record (a second real event in the same second). */
  identicalExtra: boolean;
  /** True when `meta` is a malformed JSON string. */
  malformedMeta: boolean;
}

const HOUR_MS = 3_600_000;
/** Relative traffic per UTC hour of day (business hours busier); normalized below so a day averages `eventsPerDay`. */
const DIURNAL_RAW = [
  0.35, 0.3, 0.3, 0.3, 0.35, 0.45, 0.7, 1.0, 1.4, 1.6, 1.7, 1.7, 1.5, 1.6, 1.7, 1.6, 1.5, 1.3, 1.1, 0.9, 0.7, 0.6, 0.5,
  0.4,
];
const DIURNAL_SUM = DIURNAL_RAW.reduce((a, b) => a + b, 0);
const DIURNAL = DIURNAL_RAW.map((w) => (w * 24) / DIURNAL_SUM);

const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
let cachedDay = -1;
let cachedDayText = '';

/** Formats a time as DPoD writes it: `YYYY-MM-DD HH:MM:SS.fff UTC`. */
export function formatDpodTime(ms: number): string {
  const day = Math.floor(ms / 86_400_000);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDayText = new Date(day * 86_400_000).toISOString().slice(0, 10);
  }
  let rest = ms - day * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const sec = Math.floor(rest / 1000);
  return `${cachedDayText} ${PAD2[h]}:${PAD2[m]}:${PAD2[sec]}.${PAD3[rest - sec * 1000]} UTC`;
}

interface Draft {
  second: number;
  action: string;
  status: string;
  role: string;
  ouids: string | null;
  duplicate?: boolean;
}

/** One planned session of a client: its drafts, and whether it began with mistyped PINs. */
interface Session {
  drafts: Draft[];
  mistyped: boolean;
}

/** The routine action of a client: only the service's exporter takes keys out, the others do the import side. */
const routine = (client: SimClient, action: string) =>
  client.exporter ? action : (EXPORT_SUBSTITUTES[action] ?? action);

/** Plans one burst of activity by a client starting at `start` (second within the hour). */
function planSession(rng: SeededRandom, client: SimClient, start: number): Session {
  const out: Draft[] = [];
  const key = () => rng.pick(client.keyHandles);
  const roll = rng.next();
  let mistyped = false;
  if (roll < 0.03) {
    // An operator mistypes the PIN one to three times, seconds apart, then logs in (the HSM's lockout counter
    // starts again); the whole of it stays within the hour.
    mistyped = true;
    start = Math.min(start, 3600 - 16);
    for (let i = rng.int(1, 3); i > 0; i--) {
      out.push({ second: start, action: 'LUNA_LOGIN', status: FAILURES.wrongPin, role: 'public', ouids: null });
      start += rng.int(1, 4);
    }
  } else if (roll < 0.06) {
    // Unauthenticated use: public actions succeed, key use fails with "not logged in".
    const n = rng.int(1, 3);
    for (let i = 0; i < n; i++) {
      if (rng.chance(0.6))
        out.push({
          second: start + i,
          action: rng.pick(['LUNA_DIGEST', 'LUNA_DIGEST_INIT', 'LUNA_GEN_KCV']),
          status: RET_OK,
          role: 'public',
          ouids: null,
        });
      else
        out.push({
          second: start + i,
          action: rng.pick(['LUNA_SIGN_SINGLEPART', 'LUNA_DECRYPT_SINGLEPART']),
          status: FAILURES.notLoggedIn,
          role: 'public',
          ouids: key(),
        });
    }
    return { drafts: out, mistyped };
  }
  out.push({ second: start, action: 'LUNA_LOGIN', status: RET_OK, role: client.role, ouids: null });
  let t = start + rng.int(0, 1);
  const ops = 1 + Math.floor(-Math.log(1 - rng.next()) * 9);
  for (let i = 0; i < ops; i++) {
    const kind = rng.next();
    if (kind < 0.8) {
      const action = routine(client, rng.weighted(SINGLE_PART_WEIGHTS));
      let status: string = RET_OK;
      let ouids: string | null = key();
      const f = rng.next();
      if (f < 0.015) {
        status = rng.pick(FAILURES.keyHandle);
        ouids = rng.hex(12);
      } else if (f < 0.035) status = rng.pick(FAILURES.crypto);
      else if (f < 0.038) status = rng.pick(FAILURES.device);
      out.push({ second: t, action, status, role: client.role, ouids });
      if (status === RET_OK && rng.chance(0.01))
        out.push({ second: t, action, status, role: client.role, ouids, duplicate: true });
    } else if (kind < 0.92) {
      // A multi-part operation: INIT, updates, END within the same second.
      const family = rng.pick(MULTI_PART_FAMILIES);
      const ouids = family === 'DIGEST' ? null : key();
      out.push({ second: t, action: `LUNA_${family}_INIT`, status: RET_OK, role: client.role, ouids });
      for (let u = rng.int(1, 3); u > 0; u--)
        out.push({ second: t, action: `LUNA_${family}`, status: RET_OK, role: client.role, ouids });
      const endStatus = rng.chance(0.02) ? rng.pick(FAILURES.crypto) : RET_OK;
      out.push({ second: t, action: `LUNA_${family}_END`, status: endStatus, role: client.role, ouids });
    } else if (kind < 0.985) {
      const action = rng.weighted(KEY_MANAGEMENT_WEIGHTS);
      const status =
        client.role === 'CU' && rng.chance(0.1)
          ? rng.pick(FAILURES.policy)
          : rng.chance(0.05)
            ? rng.pick(FAILURES.keyMgmt)
            : RET_OK;
      const ouids = action === 'LUNA_GENERATE_KEY_PAIR' ? `${key()},${key()}` : key();
      out.push({ second: t, action, status, role: client.role, ouids });
    } else if (kind < 0.9995) {
      out.push({
        second: t,
        action: routine(client, rng.weighted(ADMIN_WEIGHTS)),
        status: rng.chance(0.1) ? rng.pick(FAILURES.policy) : RET_OK,
        role: client.role,
        ouids: null,
      });
    } else {
      out.push({ second: t, action: FUTURE_ACTION, status: RET_OK, role: client.role, ouids: key() });
    }
    t += rng.chance(0.5) ? 0 : rng.int(1, 3);
  }
  return { drafts: out, mistyped };
}

function pickClient(rng: SeededRandom, service: SimService): number {
  let total = 0;
  for (const c of service.clients) total += c.activity;
  let r = rng.next() * total;
  for (let i = 0; i < service.clients.length; i++) {
    r -= service.clients[i]!.activity;
    if (r < 0) return i;
  }
  return service.clients.length - 1;
}

/** A planned event, kept compact until it is materialized into a record (hours hold thousands). */
export interface PlannedEvent {
  ms: number;
  serviceIndex: number;
  clientIndex: number;
  action: string;
  status: string;
  role: string;
  ouids: string | null;
  /** Seed of the record's remaining random parts (meta form, HSM, trace id, key casing). */
  seed: number;
  identicalExtra: boolean;
  /** The address the client acts from, when not its usual one (an incident). */
  clientIp?: string;
  /** Meta always a well-formed JSON string (an incident's records, so that what a rule reads is certain). */
  wellFormed?: boolean;
}

/** Builds the record of a planned event; the same event always yields the same record. */
export function materialize(tenant: Tenant, e: PlannedEvent): GeneratedEvent {
  const service = tenant.services[e.serviceIndex]!;
  const client = service.clients[e.clientIndex]!;
  const rng = new SeededRandom(e.seed);
  const form = rng.next();
  const lower = rng.next() < 0.01;
  const meta: Record<string, unknown> = { clientip: e.clientIp ?? client.clientIp, hsmid: rng.pick(service.hsmIds) };
  if (e.ouids !== null || rng.next() < 0.5) meta.ouids = e.ouids; // null ouids: present as null, or absent
  meta.partid = service.partitionSerialNumber;
  meta.role = e.role;
  let metaValue: unknown = meta;
  let malformed = false;
  if (e.wellFormed) metaValue = JSON.stringify(meta);
  else if (form >= 0.03) {
    const text = JSON.stringify(meta);
    if (form < 0.032) {
      metaValue = text.slice(0, rng.int(5, text.length - 2));
      malformed = true;
    } else metaValue = text;
  }
  const time = formatDpodTime(e.ms);
  const source = `thales/cloudhsm/${service.partitionSerialNumber}`;
  const traceId = rng.base64url(43);
  const record: RawAuditRecord = lower
    ? {
        time,
        source,
        resourceid: service.id,
        actorid: client.id,
        tenantid: tenant.tenantId,
        action: e.action,
        status: e.status,
        traceid: traceId,
        meta: metaValue,
      }
    : {
        time,
        source,
        resourceID: service.id,
        actorID: client.id,
        tenantID: tenant.tenantId,
        action: e.action,
        status: e.status,
        traceID: traceId,
        meta: metaValue,
      };
  return {
    ms: e.ms,
    record,
    serviceId: service.id,
    clientId: client.id,
    action: e.action,
    status: e.status,
    identicalExtra: e.identicalExtra,
    malformedMeta: malformed,
  };
}

/** The routine events of one session, or none when the client is not acting then (unbound, or in an incident). */
function keepSession(tenant: Tenant, serviceIndex: number, clientIndex: number, session: PlannedEvent[]): boolean {
  if (session.length === 0) return false;
  const client = tenant.services[serviceIndex]!.clients[clientIndex]!;
  const first = session[0]!.ms;
  const last = session[session.length - 1]!.ms;
  if (client.activeUntilMs !== null && last >= client.activeUntilMs) return false;
  for (const incident of tenant.incidents) {
    const q = incident.quiet;
    if (q && incident.serviceIndex === serviceIndex && incident.clientIndex === clientIndex)
      if (first < q.toMs && last >= q.fromMs) return false;
  }
  return true;
}

/** All planned events of one hour (by hour index since the epoch), unclipped, sorted by time; depends only on seed + hour. */
export function planHour(tenant: Tenant, hourIndex: number): PlannedEvent[] {
  const events: PlannedEvent[] = [];
  const hourStart = hourIndex * HOUR_MS;
  const hourOfDay = new Date(hourStart).getUTCHours();
  tenant.services.forEach((service, serviceIndex) => {
    if (!service.hasAuditData || service.clients.length === 0) return;
    const rng = new SeededRandom(mixSeed(tenant.seed, hourIndex, serviceIndex));
    const expected = (tenant.eventsPerDay / 24) * DIURNAL[hourOfDay]! * service.activity;
    const target = Math.round(expected * (0.85 + 0.3 * rng.next()));
    /** Seconds of the hour each client spent mistyping its PIN: two such sessions of a client never overlap. */
    const mistyping = new Map<number, [number, number][]>();
    let made = 0;
    while (made < target) {
      const clientIndex = pickClient(rng, service);
      const { drafts, mistyped } = planSession(rng, service.clients[clientIndex]!, rng.int(0, 3599));
      const session: PlannedEvent[] = [];
      let previous: PlannedEvent | undefined;
      for (const d of drafts) {
        // A session that began with wrong PINs is kept whole to its login: cut short, its failures would run on.
        if ((made >= target && !(mistyped && d.action === 'LUNA_LOGIN')) || d.second >= 3600) break;
        if (d.duplicate && previous) {
          session.push({ ...previous, identicalExtra: true });
          made++;
          continue;
        }
        const ms = hourStart + d.second * 1000 + rng.int(0, 999);
        previous = {
          ms,
          serviceIndex,
          clientIndex,
          action: d.action,
          status: d.status,
          role: d.role,
          ouids: d.ouids,
          seed: rng.nextUint32(),
          identicalExtra: false,
        };
        session.push(previous);
        made++;
      }
      if (mistyped && session.length > 0) {
        const span: [number, number] = [drafts[0]!.second, drafts[drafts.length - 1]!.second + 30];
        const spans = mistyping.get(clientIndex) ?? [];
        // Another mistyping session of the client at the same time would make one longer run of failures.
        if (spans.some(([a, b]) => span[0] < b && a < span[1])) continue;
        spans.push(span);
        mistyping.set(clientIndex, spans);
      }
      if (keepSession(tenant, serviceIndex, clientIndex, session)) events.push(...session);
    }
    // The nightly key backup: the service's exporter logs in and wraps a key at a time of its own in the 02:00 hour,
    // so a client that exports does so every day.
    if (hourOfDay === 2) {
      const clientIndex = service.clients.findIndex((c) => c.exporter);
      const exporter = service.clients[clientIndex];
      if (exporter) {
        const backup = new SeededRandom(mixSeed(tenant.seed, hourIndex, serviceIndex, 0xbac0));
        const ms = hourStart + backup.int(60, 3000) * 1000 + backup.int(0, 999);
        const base = { serviceIndex, clientIndex, role: exporter.role, status: RET_OK, identicalExtra: false };
        const session: PlannedEvent[] = [
          { ...base, ms, action: 'LUNA_LOGIN', ouids: null, seed: backup.nextUint32() },
          {
            ...base,
            ms: ms + 1000,
            action: 'LUNA_WRAP_KEY',
            ouids: backup.pick(exporter.keyHandles),
            seed: backup.nextUint32(),
          },
        ];
        if (keepSession(tenant, serviceIndex, clientIndex, session)) events.push(...session);
      }
    }
  });
  for (const incident of tenant.incidents)
    for (const e of incident.events) if (e.ms >= hourStart && e.ms < hourStart + HOUR_MS) events.push(e);
  // Stable sort keeps an identical copy right after its original.
  events.sort((a, b) => a.ms - b.ms);
  return events;
}

/** Generated events with time in [from, to), clipped to the tenant's history [now - days, now), in time order. */
export function* generateEvents(tenant: Tenant, from: Date, to: Date): Generator<GeneratedEvent> {
  const startMs = Math.max(from.getTime(), tenant.historyStartMs());
  const endMs = Math.min(to.getTime(), tenant.now().getTime());
  if (!(startMs < endMs)) return;
  for (let h = Math.floor(startMs / HOUR_MS); h * HOUR_MS < endMs; h++) {
    for (const e of planHour(tenant, h)) {
      if (e.ms >= startMs && e.ms < endMs) yield materialize(tenant, e);
    }
  }
}

/** The tenant's audit records with time in [from, to) (and up to the clock's now), in time order; deterministic per hour. */
export function* generateRecords(tenant: Tenant, from: Date, to: Date): Generator<RawAuditRecord> {
  for (const e of generateEvents(tenant, from, to)) yield e.record;
}

/** The exact JSON text line DPoD writes for a record (no trailing newline). */
export function renderRecordLine(record: RawAuditRecord): string {
  return JSON.stringify(record);
}
