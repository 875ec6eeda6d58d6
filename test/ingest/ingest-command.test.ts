import { startSimulator, summarizeRecords, type RunningSimulator } from '../../src/simulator';
import { runCli } from '../support/cli';
import { createTestDatabase, type TestDatabase } from '../support/db';

const NOW = new Date(Date.UTC(2026, 10, 20));
const FROM = new Date(NOW.getTime() - 2 * 86_400_000);

let t: TestDatabase;
let sim: RunningSimulator;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  [t, sim] = await Promise.all([
    createTestDatabase(),
    startSimulator({
      port: 0,
      seed: 21,
      services: 1,
      clientsPerService: 2,
      eventsPerDay: 800,
      days: 2,
      now: () => NOW,
      exportDelayMs: 20,
      format: 'zip-json',
    }),
  ]);
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LOG_LEVEL: 'warn',
    DATABASE_URL: t.url,
    DPOD_API_URL: sim.url,
    DPOD_TOKEN_URL: sim.tokenUrl,
    DPOD_CLIENT_ID: sim.clientId,
    DPOD_CLIENT_SECRET: sim.clientSecret,
  };
});
afterAll(async () => {
  await Promise.all([t.drop(), sim.stop()]);
});

it('rejects a bad command line with exit code 2 and says what to do', async () => {
  const none = await runCli(['ingest'], env);
  expect(none).toMatchObject({ code: 2, stdout: '' });
  expect(none.stderr).toContain('give --from and --to (a backfill) or --follow');
  const badTime = await runCli(['ingest', '--from', 'last week', '--to', '2026-11-20'], env);
  expect(badTime.code).toBe(2);
  expect(badTime.stderr).toContain('"last week" is not a time');
  const reversed = await runCli(['ingest', '--from', '2026-11-20', '--to', '2026-11-19'], env);
  expect(reversed.code).toBe(2);
  expect(reversed.stderr).toContain('--from must be before --to');
  const future = await runCli(
    ['ingest', '--from', '2026-11-20', '--to', new Date(Date.now() + 86_400_000).toISOString()],
    env,
  );
  expect(future.code).toBe(2);
  expect(future.stderr).toContain('--to is in the future');
});

it('backfills a range through the API in windows, prints one summary per window, and resumes to a no-op', async () => {
  const want = summarizeRecords(sim.tenant, FROM, NOW);
  const args = ['ingest', '--from', FROM.toISOString(), '--to', '2026-11-20', '--window-days', '1', '--no-progress'];
  const first = await runCli(args, env);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  const lines = first.stdout.trim().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(
    /^backfill dpod-api \[2026-11-18T00:00:00.000Z \.\. 2026-11-19T00:00:00.000Z\): succeeded; read \d+, inserted \d+, duplicates 0, rejected 0/,
  );
  const { n } = await t.db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  expect(Number(n)).toBe(want.total);
  // The checkpoint says the whole range is done: the same command has nothing left to do.
  const again = await runCli(args, env);
  expect(again).toMatchObject({ code: 0, stdout: '' });
});
