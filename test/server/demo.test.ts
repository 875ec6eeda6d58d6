import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from '../support/cli';

/** The demo's deep query: services -> clients -> actions -> meta. */
const DEEP_QUERY = `{ services(first: 5) { totalCount nodes { id name clients(first: 5) { nodes { id name bound
  actions(first: 5) { totalCount nodes { time action status meta { clientIp objectIds role } } } } } } } }`;

let child: ChildProcess | undefined;

afterAll(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

it('starts from nothing (no DATABASE_URL, no DPOD_API_URL), serves the deep query, and exits cleanly on SIGTERM', async () => {
  const started = Date.now();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  };
  const proc = spawn(process.execPath, [CLI, 'demo', '--days', '3'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`demo printed no URL in 120 s\nstdout:\n${stdout}\nstderr:\n${stderr.slice(-3000)}`)),
      120_000,
    );
    const check = () => {
      const m = /is up: (http:\/\/[^\s]+)\/graphql/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout.on('data', check);
    void exited.then(({ code, signal }) =>
      reject(new Error(`demo exited early (${code ?? signal})\nstdout:\n${stdout}\nstderr:\n${stderr.slice(-3000)}`)),
    );
  });

  let ready: Response | undefined;
  for (let i = 0; i < 100; i++) {
    ready = await fetch(`${url}/readyz`).catch(() => undefined);
    if (ready?.status === 200) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(ready?.status).toBe(200);
  const readyAfterSeconds = (Date.now() - started) / 1000;
  process.stderr.write(`[demo] ready after ${readyAfterSeconds.toFixed(1)} s (3 days of simulator data)\n`);

  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: DEEP_QUERY }),
  });
  const body = (await res.json()) as {
    errors?: unknown;
    data: {
      services: {
        totalCount: number;
        nodes: { clients: { nodes: { actions: { totalCount: number; nodes: unknown[] } }[] } }[];
      };
    };
  };
  expect(body.errors).toBeUndefined();
  const services = body.data.services;
  expect(services.totalCount).toBeGreaterThanOrEqual(3);
  const actions = services.nodes.flatMap((s) => s.clients.nodes.flatMap((c) => c.actions.nodes));
  expect(actions.length).toBeGreaterThan(0);
  const total = services.nodes.reduce((n, s) => n + s.clients.nodes.reduce((m, c) => m + c.actions.totalCount, 0), 0);
  expect(total).toBeGreaterThan(0);
  // The demo signs seals with a key made for the run and prints its public half.
  expect(stdout).toMatch(
    /Seals: signed with a key made for this demo run \(fingerprint [0-9a-f]{64}\); its public key:/,
  );
  expect(stdout).toContain('-----BEGIN PUBLIC KEY-----');
  expect(stdout).toContain('curl -s');

  const graphiql = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
  expect(graphiql.status).toBe(200);
  expect(stdout).toContain(`Overview (charts and open findings, filters kept in the URL): ${url}/overview`);
  const overview = await fetch(`${url}/overview`);
  expect(overview.status).toBe(200);

  proc.kill('SIGTERM');
  const outcome = await exited;
  expect(outcome).toEqual({ code: 0, signal: null });
  expect(stderr).toContain('stopped cleanly');
}, 180_000);
