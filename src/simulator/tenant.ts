import { planIncidents, type Incident } from './incident-scenarios';
import { SeededRandom, mixSeed } from './seeded-random';

/** Service type of a Luna Cloud HSM service in DPoD. */
export const LUNA_SERVICE_TYPE = 'key_vault';
/** Other DPoD service types the tenant holds (they write no HSM audit data). */
export const OTHER_SERVICE_TYPES = ['hsm_key_export', 'ctaas'] as const;

/** Options of {@link createTenant}; every default is listed. */
export interface TenantOptions {
  /** Seed of all generated data (default 42). */
  seed?: number;
  /** Listed Luna Cloud HSM services (default 4); half as many (rounded up) of other types are added. */
  services?: number;
  /** Bound clients per service (default 5); each Luna service also has one unbound client that still appears in events. */
  clientsPerService?: number;
  /** Audit events per Luna service per day, on average (default 2000). */
  eventsPerDay?: number;
  /** Days of history before now (default 7). */
  days?: number;
  /** The clock: events exist only in [now - days, now) (default real time). */
  now?: () => Date;
  /**
   * About one record in this many is followed, in JSON Lines exports, by a bad line (the record's line cut short),
   * the same in every export that holds the record (default 0: none). JSON array exports never hold bad lines.
   */
  badLineEvery?: number;
  /**
   * Seed one scenario per detection rule at fixed times before the clock's now at creation (docs/simulator.md,
   * "Incidents"; default false: routine traffic only, which raises no finding). Needs at least 3 services and 4
   * clients per service.
   */
  incidents?: boolean;
}

/** A client of a simulated service. */
export interface SimClient {
  id: string;
  name: string;
  createdAt: Date;
  createdBy: string;
  /** False when DPoD no longer lists the binding (events still name it). */
  bound: boolean;
  /** Routine traffic of the client ends here (ms since epoch): an unbound client stopped before it was unbound. */
  activeUntilMs: number | null;
  /** True for the one client per service that exports keys in routine traffic (wraps, clones; a nightly key backup). */
  exporter: boolean;
  /** The Luna role the client logs in as. */
  role: 'CO' | 'CU';
  clientIp: string;
  /** Relative share of the service's traffic. */
  activity: number;
  /** Key handles (12 hex digits) the client works with. */
  keyHandles: string[];
}

/** A simulated DPoD service instance. */
export interface SimService {
  id: string;
  name: string;
  serviceType: string;
  partitionSerialNumber: string;
  status: string;
  servicePlan: string;
  createdAt: Date;
  createdBy: string;
  /** False for a deleted service: 404 from the API, but its past events remain. */
  listed: boolean;
  /** True for Luna Cloud HSM services, the only ones that write audit events. */
  hasAuditData: boolean;
  /** Relative traffic volume (1 for a listed service). */
  activity: number;
  /** Serial numbers of the HSMs serving the partition. */
  hsmIds: string[];
  clients: SimClient[];
}

/** A deterministic simulated DPoD tenant: its services, clients and the parameters of its audit traffic. */
export interface Tenant {
  readonly seed: number;
  readonly tenantId: string;
  readonly services: readonly SimService[];
  readonly eventsPerDay: number;
  readonly days: number;
  readonly now: () => Date;
  /** See {@link TenantOptions.badLineEvery} (0 = none). */
  readonly badLineEvery: number;
  /** The incident scenarios seeded into the records (empty without {@link TenantOptions.incidents}). */
  readonly incidents: readonly Incident[];
  /** Services the platform API lists, in listing order. */
  listedServices(): SimService[];
  /** A listed service by id, or undefined (unknown or deleted). */
  findListedService(id: string): SimService | undefined;
  /** Start of the event history: now - days (ms since epoch). */
  historyStartMs(): number;
}

const DAY_MS = 86_400_000;
const BASE_CREATED_MS = Date.UTC(2024, 0, 8, 9, 0, 0);
const SERVICE_WORDS = [
  'payments',
  'pki',
  'code-signing',
  'tokenization',
  'tde',
  'backup',
  'iot',
  'identity',
  'ledger',
  'archive',
];
const CLIENT_WORDS = [
  'api',
  'worker',
  'batch',
  'gateway',
  'signer',
  'vault-agent',
  'jenkins',
  'hsm-proxy',
  'billing',
  'kms',
];

function publicIp(rng: SeededRandom): string {
  return rng.pick(['52', '34', '18', '20', '40', '13']) + `.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

function makeClients(
  rng: SeededRandom,
  service: { name: string; createdAt: Date },
  count: number,
  unbound: number,
  tenantAdmin: string,
  unboundSinceMs: number,
): SimClient[] {
  const clients: SimClient[] = [];
  for (let i = 0; i < count + unbound; i++) {
    const bound = i < count;
    const handles: string[] = [];
    for (let k = 0, n = rng.int(2, 5); k < n; k++) handles.push(`${rng.pick(['2d', '1f', '3a', '0b'])}${rng.hex(10)}`);
    clients.push({
      id: rng.uuid(),
      name: `${service.name}-${rng.pick(CLIENT_WORDS)}-${i + 1}`,
      createdAt: new Date(service.createdAt.getTime() + rng.int(1, 120) * 86_400_000 + rng.int(0, 86_399) * 1000),
      createdBy: tenantAdmin,
      bound,
      activeUntilMs: bound ? null : unboundSinceMs,
      exporter: i === 0,
      role: i === 0 ? 'CO' : rng.chance(0.2) ? 'CO' : 'CU',
      clientIp: rng.chance(0.3) ? `10.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}` : publicIp(rng),
      activity: bound ? 0.3 + rng.next() * 1.7 : 0.15,
      keyHandles: handles,
    });
  }
  return clients;
}

/** Builds the tenant for a seed; the same options always yield the same tenant. */
export function createTenant(options: TenantOptions = {}): Tenant {
  const seed = options.seed ?? 42;
  const lunaCount = options.services ?? 4;
  const clientsPerService = options.clientsPerService ?? 5;
  const eventsPerDay = options.eventsPerDay ?? 2000;
  const days = options.days ?? 7;
  const now = options.now ?? (() => new Date());
  if (!Number.isInteger(lunaCount) || lunaCount < 0)
    throw new RangeError(`services must be a whole number >= 0, got ${lunaCount}`);
  if (!Number.isInteger(clientsPerService) || clientsPerService < 0)
    throw new RangeError(`clientsPerService must be a whole number >= 0, got ${clientsPerService}`);
  if (!(eventsPerDay >= 0)) throw new RangeError(`eventsPerDay must be >= 0, got ${eventsPerDay}`);
  if (!(days > 0)) throw new RangeError(`days must be > 0, got ${days}`);
  const badLineEvery = options.badLineEvery ?? 0;
  if (!Number.isInteger(badLineEvery) || badLineEvery < 0)
    throw new RangeError(`badLineEvery must be a whole number >= 0, got ${badLineEvery}`);

  // Fixed at creation, so that the events of an hour stay the same while the clock moves on.
  const createdDayMs = Math.floor(now().getTime() / DAY_MS) * DAY_MS;
  const createdHistoryStartMs = now().getTime() - days * DAY_MS;
  const rng = new SeededRandom(mixSeed(seed, 0x7e4a47));
  const tenantId = rng.uuid();
  const tenantAdmin = rng.uuid();
  const services: SimService[] = [];
  const otherCount = Math.ceil(lunaCount / 2);
  const deletedCount = lunaCount > 0 ? 1 : 0;
  const total = lunaCount + otherCount + deletedCount;
  for (let i = 0; i < total; i++) {
    const isLuna = i < lunaCount || i >= lunaCount + otherCount;
    const listed = i < lunaCount + otherCount;
    const serviceType = isLuna ? LUNA_SERVICE_TYPE : OTHER_SERVICE_TYPES[(i - lunaCount) % OTHER_SERVICE_TYPES.length]!;
    const name = `${SERVICE_WORDS[i % SERVICE_WORDS.length]}-${isLuna ? 'hsm' : serviceType.replace(/_/g, '-')}${i >= SERVICE_WORDS.length ? `-${i}` : ''}`;
    const createdAt = new Date(BASE_CREATED_MS + rng.int(0, 400) * 86_400_000 + rng.int(0, 86_399) * 1000);
    const service = { name, createdAt };
    services.push({
      id: rng.uuid(),
      name,
      serviceType,
      partitionSerialNumber: isLuna ? rng.digits(13) : rng.digits(13),
      status: 'ACTIVE',
      servicePlan: rng.pick(['monthly', 'annual', 'trial']),
      createdAt,
      createdBy: tenantAdmin,
      listed,
      hasAuditData: isLuna,
      activity: listed ? 1 : 0.1,
      hsmIds: [rng.digits(6), rng.digits(6)],
      clients: makeClients(
        rng,
        service,
        isLuna ? clientsPerService : Math.min(2, clientsPerService),
        isLuna ? 1 : 0,
        tenantAdmin,
        createdDayMs - 2 * DAY_MS,
      ),
    });
  }
  // A deleted service's clients are gone with it.
  for (const s of services) if (!s.listed) for (const c of s.clients) c.bound = false;

  const incidents = options.incidents
    ? planIncidents(seed, services, { dayMs: createdDayMs, fromMs: createdHistoryStartMs, toMs: now().getTime() })
    : [];

  const listed = services.filter((s) => s.listed);
  const byId = new Map(listed.map((s) => [s.id, s]));
  return {
    seed,
    tenantId,
    services,
    eventsPerDay,
    days,
    now,
    badLineEvery,
    incidents,
    listedServices: () => listed.slice(),
    findListedService: (id) => byId.get(id),
    historyStartMs: () => now().getTime() - days * DAY_MS,
  };
}
