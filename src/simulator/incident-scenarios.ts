import { FAILURES, RET_OK } from './luna-catalog';
import type { PlannedEvent } from './record-generator';
import { SeededRandom, mixSeed } from './seeded-random';
import type { SimService } from './tenant';

/**
 * One incident seeded into the simulated records (`simulate --incidents`): what a detection rule must find there,
 * and nothing else. The times are fixed offsets from the UTC midnight of the day the tenant was created on.
 */
export interface Incident {
  /** The detection rule the scenario is for (its code, docs/detection.md). */
  rule: string;
  /** What happens, in a sentence. */
  description: string;
  serviceIndex: number;
  clientIndex: number;
  serviceId: string;
  clientId: string;
  /** The client's routine sessions that would overlap [fromMs, toMs) are left out, so the scenario is its own. */
  quiet: { fromMs: number; toMs: number } | null;
  /** The scenario's records, in time order (empty for a scenario that changes the directory, not the records). */
  events: PlannedEvent[];
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** An address of TEST-NET-2 (RFC 5737): no routine client uses it. */
const NEW_ADDRESS = '198.51.100.23';

interface Step {
  /** Offset from the scenario's start, ms. */
  at: number;
  action: string;
  status?: string;
  role?: string;
  ouids?: string | null;
}

/**
 * The scenarios for a tenant's services, at fixed offsets from `dayMs` (UTC midnight of the creation day), each kept
 * only when its quiet span lies inside the history [fromMs, toMs). Service and client choices (by listing order of
 * the Luna services and of their bound clients) are in docs/simulator.md; the unbound client's binding is removed here.
 */
export function planIncidents(
  seed: number,
  services: SimService[],
  window: { dayMs: number; fromMs: number; toMs: number },
): Incident[] {
  const luna = services.filter((s) => s.listed && s.hasAuditData);
  const bound = (s: SimService) => s.clients.filter((c) => c.bound);
  if (luna.length < 3 || luna.some((s) => bound(s).length < 4))
    throw new RangeError('incidents need at least 3 Luna services with 4 bound clients each');
  const [a, b, c] = luna as [SimService, SimService, SimService];
  const out: Incident[] = [];

  const scenario = (
    rule: string,
    description: string,
    service: SimService,
    boundIndex: number,
    startMs: number,
    steps: Step[],
  ): void => {
    const client = bound(service)[boundIndex]!;
    const serviceIndex = services.indexOf(service);
    const clientIndex = service.clients.indexOf(client);
    const endMs = startMs + steps[steps.length - 1]!.at;
    const quiet = { fromMs: startMs - 15 * MINUTE_MS, toMs: endMs + 15 * MINUTE_MS };
    if (quiet.fromMs < window.fromMs || quiet.toMs > window.toMs) return;
    const rng = new SeededRandom(mixSeed(seed, 0x1c1d, out.length));
    const events = steps.map((s): PlannedEvent => ({
      ms: startMs + s.at + rng.int(0, 899),
      serviceIndex,
      clientIndex,
      action: s.action,
      status: s.status ?? RET_OK,
      role: s.role ?? client.role,
      ouids: s.ouids === undefined ? rng.pick(client.keyHandles) : s.ouids,
      seed: rng.nextUint32(),
      identicalExtra: false,
      wellFormed: true,
      ...(rule === 'NEW_CLIENT_ADDRESS' ? { clientIp: NEW_ADDRESS } : {}),
    }));
    out.push({
      rule,
      description,
      serviceIndex,
      clientIndex,
      serviceId: service.id,
      clientId: client.id,
      quiet,
      events,
    });
  };
  const login = (at: number, status: string = RET_OK): Step => ({
    at,
    action: 'LUNA_LOGIN',
    status,
    role: status === RET_OK ? undefined : 'public',
    ouids: null,
  });
  const times = (n: number, every: number, from: number, step: Omit<Step, 'at'>): Step[] =>
    Array.from({ length: n }, (_, i) => ({ ...step, at: from + i * every }));
  const at = (day: number, hour: number) => window.dayMs - day * DAY_MS + hour * HOUR_MS;

  scenario(
    'PIN_FAILURE_BURST',
    'six wrong PINs 20 s apart, then the partition locks (seven failures); the PIN is right again 15 minutes later',
    a,
    1,
    at(2, 3),
    [
      ...times(6, 20_000, 0, { action: 'LUNA_LOGIN', status: FAILURES.wrongPin, role: 'public', ouids: null }),
      login(120_000, FAILURES.lockedOut),
      login(15 * MINUTE_MS),
    ],
  );
  scenario(
    'DESTRUCTIVE_OPERATION',
    'a login, then twelve objects destroyed 10 s apart (LUNA_DESTROY_OBJECT)',
    b,
    0,
    at(3, 14),
    [login(0), ...times(12, 10_000, 5_000, { action: 'LUNA_DESTROY_OBJECT' })],
  );
  scenario(
    'KEY_EXPORT_BY_NEW_CLIENT',
    'a client that never exports logs in and wraps three keys 30 s apart (LUNA_WRAP_KEY)',
    a,
    2,
    at(1, 10),
    [login(0), ...times(3, 30_000, 5_000, { action: 'LUNA_WRAP_KEY' })],
  );
  scenario(
    'NEW_CLIENT_ADDRESS',
    `a login and five signatures 30 s apart from ${NEW_ADDRESS}, an address the client never used`,
    b,
    1,
    at(1, 16),
    [login(0), ...times(5, 30_000, 5_000, { action: 'LUNA_SIGN_SINGLEPART' })],
  );
  scenario('VOLUME_SPIKE', 'a login and 719 signatures 5 s apart: 720 events in the hour', c, 1, at(2, 20), [
    login(2_000),
    ...times(719, 5_000, 5_000, { action: 'LUNA_SIGN_SINGLEPART' }),
  ]);
  // DPoD stops listing a client that goes on acting: its binding is removed, its routine traffic goes on to now.
  const unbound = bound(c)[bound(c).length - 1]!;
  unbound.bound = false;
  out.push({
    rule: 'UNBOUND_CLIENT_ACTIVITY',
    description: 'DPoD no longer lists the binding of a client that keeps acting (its routine traffic goes on)',
    serviceIndex: services.indexOf(c),
    clientIndex: c.clients.indexOf(unbound),
    serviceId: c.id,
    clientId: unbound.id,
    quiet: null,
    events: [],
  });
  return out;
}
