import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { importFiles } from '../../src/ingest';
import type { SimClient, SimService } from '../../src/simulator';
import { jsonLines, record, writeText } from '../ingest/hand-made';
import { bearer as signedBearer } from './support/bearer';
import { gql } from './support/http';
import { startSeededApp, type SeededApp } from './support/seeded-app';

const SECRET = 'client-home-test-secret-that-is-long-enough-for-hs256';
const ISSUER = 'https://idp.client-home.test/';
const AUDIENCE = 'dpod-audit-gateway';
const HOUR = 3_600_000;

let seeded: SeededApp;
let serviceA: SimService;
let serviceB: SimService;
/** Bound to B in DPoD, and seen acting on both A and B. */
let roamer: SimClient;
/** Bound to A: what a token scoped to A may see in full. */
let local: SimClient;
/** The hand-made events lie in [from, to), ten days back, before the simulator's history. */
let from: Date;
let to: Date;
let asA: Record<string, string>;
let asAll: Record<string, string>;

const bearer = (claims: Record<string, unknown>) =>
  signedBearer({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, subject: 'client-home-test' }, claims);

/** A DPoD audit time (`YYYY-MM-DD HH:MM:SS.fff UTC`). */
function auditTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');
}

/** `count` hand-made events of `client` on `service`, one second apart from `startMs`. */
function eventsOf(client: SimClient, service: SimService, startMs: number, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) =>
    record({
      time: auditTime(startMs + i * 1000),
      source: `thales/cloudhsm/${service.partitionSerialNumber}`,
      resourceID: service.id,
      actorID: client.id,
      tenantID: seeded.sim.tenant.tenantId,
      traceID: `client-home-${service.id.slice(0, 8)}-${client.id.slice(0, 8)}-${i}`,
      meta: JSON.stringify({
        clientip: client.clientIp,
        hsmid: service.hsmIds[0],
        ouids: null,
        partid: service.partitionSerialNumber,
        role: client.role,
      }),
    }),
  );
}

beforeAll(async () => {
  seeded = await startSeededApp({
    env: { AUTH_MODE: 'jwt', JWT_SECRET: SECRET, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE },
  });
  const luna = seeded.sim.tenant.listedServices().filter((s) => s.hasAuditData);
  expect(luna.length).toBeGreaterThanOrEqual(2);
  [serviceA, serviceB] = [luna[0]!, luna[1]!];
  roamer = serviceB.clients.find((c) => c.bound)!;
  local = serviceA.clients.find((c) => c.bound)!;

  // The simulator never lets one client act on two services: the roamer's events on A are hand-made,
  // and its latest events are on B (also hand-made, an hour later), so B is its home in the rollups.
  from = new Date(Math.floor((seeded.sim.tenant.now().getTime() - 10 * 24 * HOUR) / HOUR) * HOUR);
  to = new Date(from.getTime() + 24 * HOUR);
  const dir = mkdtempSync(join(tmpdir(), 'client-home-'));
  try {
    const file = writeText(
      join(dir, 'roaming-client.jsonl'),
      jsonLines([
        ...eventsOf(roamer, serviceA, from.getTime() + HOUR, 3),
        ...eventsOf(local, serviceA, from.getTime() + HOUR, 2),
        ...eventsOf(roamer, serviceB, from.getTime() + 2 * HOUR, 4),
      ]),
    );
    const [run] = await importFiles({ db: seeded.db.db, pool: seeded.db.pool }, [file], { progressBar: false });
    expect(run).toMatchObject({ state: 'succeeded', read: 9, inserted: 9, rejected: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const { rows } = await sql<{ service_id: string }>`
    select service_id from audit_rollups_hourly where client_id = ${roamer.id} order by hour desc, service_id limit 1`.execute(
    seeded.db.db,
  );
  expect(rows).toEqual([{ service_id: serviceB.id }]);

  asA = await bearer({ scope: 'audit:read', services: [serviceA.id] });
  asAll = await bearer({ scope: 'audit:read' });
}, 120_000);

afterAll(async () => {
  await seeded?.stop();
});

const CLIENT_FIELDS = 'id name createdAt bound service { id }';

/** What an unrestricted caller learns of a client from its DPoD binding on `service`. */
function bindingOf(client: SimClient, service: SimService) {
  return {
    id: client.id,
    name: client.name,
    createdAt: client.createdAt.toISOString(),
    bound: true,
    service: { id: service.id },
  };
}

/** What a caller learns of a client whose home service it may not read: its id, nothing of the binding. */
function hidden(client: SimClient) {
  return { id: client.id, name: null, createdAt: null, bound: false, service: null };
}

describe("a client whose home service is outside the caller's scope", () => {
  const byClientOnA = `query ($a: ID!, $from: DateTime!, $to: DateTime!) {
    service(id: $a) {
      auditEvents(filter: { from: $from, to: $to }) {
        totalCount
        aggregate { byClient { count client { ${CLIENT_FIELDS} } } }
      }
    }
  }`;
  /** The whole answer to `byClientOnA`: A's five hand-made events, counted per client. */
  const byClientOnAAnswer = (byClient: unknown[]) => ({
    data: { service: { auditEvents: { totalCount: 5, aggregate: { byClient } } } },
  });

  it('aggregate.byClient on A shows its count but none of its binding on B to a token scoped to A', async () => {
    const res = await gql(seeded.url, byClientOnA, { a: serviceA.id, from, to }, asA);
    expect(res.body).toEqual(
      byClientOnAAnswer([
        { count: 3, client: hidden(roamer) },
        { count: 2, client: bindingOf(local, serviceA) },
      ]),
    );
  });

  it('aggregate.byClient shows the binding on B to an unscoped token', async () => {
    const res = await gql(seeded.url, byClientOnA, { a: serviceA.id, from, to }, asAll);
    expect(res.body).toEqual(
      byClientOnAAnswer([
        { count: 3, client: bindingOf(roamer, serviceB) },
        { count: 2, client: bindingOf(local, serviceA) },
      ]),
    );
  });

  it("Query.auditEvents' aggregate counts only A's events and hides the binding on B; unscoped it counts both", async () => {
    const q = `query ($c: [ID!], $from: DateTime!, $to: DateTime!) {
      auditEvents(filter: { clientIds: $c, from: $from, to: $to }) {
        aggregate { count byService { count service { id } } byClient { count client { ${CLIENT_FIELDS} } } }
      }
    }`;
    const scoped = await gql(seeded.url, q, { c: [roamer.id], from, to }, asA);
    expect(scoped.body).toEqual({
      data: {
        auditEvents: {
          aggregate: {
            count: 3,
            byService: [{ count: 3, service: { id: serviceA.id } }],
            byClient: [{ count: 3, client: hidden(roamer) }],
          },
        },
      },
    });
    const unscoped = await gql(seeded.url, q, { c: [roamer.id], from, to }, asAll);
    expect(unscoped.body).toEqual({
      data: {
        auditEvents: {
          aggregate: {
            count: 7,
            byService: [
              { count: 4, service: { id: serviceB.id } },
              { count: 3, service: { id: serviceA.id } },
            ],
            byClient: [{ count: 7, client: bindingOf(roamer, serviceB) }],
          },
        },
      },
    });
  });

  it("Service.clients of A lists A's bindings only; client(id) finds the roamer only unscoped", async () => {
    const q = `query ($a: ID!, $c: ID!) {
      service(id: $a) { clients(first: 50) { nodes { id name } } }
      client(id: $c) { ${CLIENT_FIELDS} }
    }`;
    const aBindings = serviceA.clients.filter((c) => c.bound).map((c) => ({ id: c.id, name: c.name }));
    expect(aBindings.map((c) => c.id)).not.toContain(roamer.id);
    const scoped = await gql(seeded.url, q, { a: serviceA.id, c: roamer.id }, asA);
    expect(scoped.body).toEqual({ data: { service: { clients: { nodes: aBindings } }, client: null } });
    const unscoped = await gql(seeded.url, q, { a: serviceA.id, c: roamer.id }, asAll);
    expect(unscoped.body).toEqual({
      data: { service: { clients: { nodes: aBindings } }, client: bindingOf(roamer, serviceB) },
    });
  });
});
