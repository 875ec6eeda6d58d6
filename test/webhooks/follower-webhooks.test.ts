import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importFiles } from '../../src/ingest';
import { jsonLines, record, writeText } from '../ingest/hand-made';
import { startSeededApp, type SeededApp } from '../server/support/seeded-app';

// The app that runs the follower (serve --ingest, demo) runs the deliverer beside it: a finding its pass raises is
// POSTed to WEBHOOK_URLS, recorded, and counted in /metrics; stop() stops it.

let seeded: SeededApp | undefined;
let server: Server | undefined;
let dir = '';

afterAll(async () => {
  await seeded?.stop();
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('sends a finding the follower raises to WEBHOOK_URLS and counts it in the metrics', async () => {
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  seeded = await startSeededApp({
    follow: true,
    env: {
      INGEST_INTERVAL_SECONDS: '1',
      INGEST_OVERLAP_SECONDS: '600',
      WEBHOOK_URLS: `${url}>=HIGH`,
      WEBHOOK_SECRET: 'x'.repeat(24),
    },
  });
  // A burst of wrong PINs two minutes ago, inside the next pass's range (the checkpoint minus the overlap, to now).
  const at = Date.now() - 120_000;
  const events = Array.from({ length: 6 }, (_, i) =>
    record({
      time: new Date(at + i * 1000).toISOString(),
      actorID: 'cccccccc-0000-4000-8000-000000000003',
      action: 'LUNA_LOGIN',
      status: 'LUNA_RET_UM_PIN_INCORRECT',
      traceID: `burst-${i}`,
    }),
  );
  dir = await mkdtemp(join(tmpdir(), 'follower-webhooks-'));
  const file = writeText(join(dir, 'burst.jsonl'), jsonLines(events));
  await importFiles({ db: seeded.db.db, pool: seeded.db.pool }, [file], { leaves: false });

  const until = Date.now() + 30_000;
  const delivered = async () =>
    (
      await seeded!.db.pool.query<{ status: string; delivery_id: string }>(
        `select d.status, d.delivery_id::text from webhook_deliveries d join findings f on f.id = d.finding_id
          where f.client_id = 'cccccccc-0000-4000-8000-000000000003'`,
      )
    ).rows;
  while (Date.now() < until && !(await delivered()).some((r) => r.status === 'DELIVERED'))
    await new Promise((r) => setTimeout(r, 100));
  const [row] = await delivered();
  expect(row).toMatchObject({ status: 'DELIVERED' });
  const mine = received.filter((r) => r.headers['x-dpod-audit-delivery'] === row!.delivery_id);
  expect(mine).toHaveLength(1);
  expect(JSON.parse(mine[0]!.body)).toMatchObject({
    event: 'finding.raised',
    finding: { rule: 'PIN_FAILURE_BURST', clientId: 'cccccccc-0000-4000-8000-000000000003', count: 6 },
  });
  const { body } = await seeded.app.metrics.render();
  expect(body).toMatch(/^webhook_deliveries_total\{outcome="delivered"\} [1-9]/m);
});
