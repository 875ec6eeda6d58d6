import { gql } from './support/http';
import { startSeededApp, type SeededApp } from './support/seeded-app';

let seeded: SeededApp;

beforeAll(async () => {
  seeded = await startSeededApp({ days: 1, eventsPerDay: 50 });
}, 120_000);

afterAll(async () => {
  await seeded?.stop();
});

it('answers a router that asks for a federated trace without one (ftv1 is off)', async () => {
  const query = '{ auditEvents(first: 2) { edges { node { action } } } }';
  const res = await gql<{ auditEvents: { edges: unknown[] } }>(
    seeded.url,
    query,
    {},
    {
      'apollo-federation-include-trace': 'ftv1',
    },
  );
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data?.auditEvents.edges).toHaveLength(2);
  // With Apollo's inline trace plugin (installed by default on a subgraph) the answer would carry extensions.ftv1.
  expect((res.body as { extensions?: { ftv1?: string } }).extensions?.ftv1).toBeUndefined();
});
