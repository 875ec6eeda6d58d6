import 'reflect-metadata';
import type { GraphQLResolveInfo } from 'graphql';
import { loadConfig } from '../../src/config';
import { createDatabase, type DatabaseHandle } from '../../src/db/connection';
import { createDpodClient } from '../../src/dpod';
import { createContext, createGraphqlDeps, UNRESTRICTED } from '../../src/graphql/context';
import { ClientsResolver } from '../../src/graphql/resolvers/clients.resolver';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { createEmptyDatabase, dropDatabase, urlFor } from '../support/db';

const info = {
  path: { key: 'bound', prev: undefined, typename: 'Client' },
  parentType: { name: 'Client' },
  fieldName: 'bound',
} as unknown as GraphQLResolveInfo;

describe('Client.bound when the database, not DPoD, fails', () => {
  let name: string;
  let store: DatabaseHandle;
  let sim: RunningSimulator;
  beforeAll(async () => {
    // A database without the store's tables: looking up the client's service fails in PostgreSQL, while DPoD answers.
    name = await createEmptyDatabase();
    store = createDatabase({ url: urlFor(name), poolSize: 1 });
    sim = await startSimulator({ port: 0, seed: 3, services: 1, clientsPerService: 1, eventsPerDay: 1, days: 1 });
  });
  afterAll(async () => {
    await store?.destroy();
    if (name) await dropDatabase(name);
    await sim?.stop();
  });

  it('fails with the database error instead of answering false as DPOD_UNAVAILABLE with the database message', async () => {
    const config = loadConfig({
      DPOD_API_URL: sim.url,
      DPOD_TOKEN_URL: sim.tokenUrl,
      DPOD_CLIENT_ID: sim.clientId,
      DPOD_CLIENT_SECRET: sim.clientSecret,
    });
    const deps = createGraphqlDeps({ db: store.db, dpod: createDpodClient(config), config });
    const ctx = createContext(deps, { requestId: 'test', auth: UNRESTRICTED });
    const clientId = sim.tenant.services[0]!.clients[0]!.id;
    await expect(new ClientsResolver().bound({ id: clientId }, ctx, info)).rejects.toThrow(/audit_rollups_hourly/);
    expect(ctx.unconfirmedAnswers).toEqual([]);
  });
});
