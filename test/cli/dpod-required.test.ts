import { runCli } from '../support/cli';

// Nothing listens on port 1: a command that got as far as the database would fail there with exit 1.
const UNREACHABLE_DB = 'postgres://postgres@127.0.0.1:1/dpod_audit';
const DPOD = {
  DPOD_API_URL: 'http://127.0.0.1:1',
  DPOD_TOKEN_URL: 'http://127.0.0.1:1/oauth/token',
  DPOD_CLIENT_ID: 'sim-client',
  DPOD_CLIENT_SECRET: 'sim-secret',
};

describe('commands that read DPoD without DPoD configured', () => {
  it.each([
    [['ingest', '--from', '2026-11-01', '--to', '2026-11-02'], 'ingest'],
    [['ingest', '--follow'], 'ingest'],
    [['serve', '--ingest', '--port', '0'], 'serve --ingest'],
  ])('%j stops with exit 2 naming the DPoD variables, before touching the database', async (args, invocation) => {
    const result = await runCli(args, { DATABASE_URL: UNREACHABLE_DB });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe('Invalid configuration:');
    expect(lines.slice(1).map((l) => l.split(' ')[3])).toEqual([
      'DPOD_API_URL',
      'DPOD_TOKEN_URL',
      'DPOD_CLIENT_ID',
      'DPOD_CLIENT_SECRET',
    ]);
    expect(lines[1]).toContain(`is required by \`dpod-audit ${invocation}\``);
    expect(result.stderr).not.toContain('ECONNREFUSED');
  });

  it('goes on to the database once DPoD is configured (the check blocks nothing else)', async () => {
    const result = await runCli(['ingest', '--from', '2026-11-01', '--to', '2026-11-02'], {
      DATABASE_URL: UNREACHABLE_DB,
      ...DPOD,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot reach PostgreSQL at 127.0.0.1:1 (DATABASE_URL): connection refused');
  });

  it('reports a bad environment before the missing DPoD variables, with every problem listed', async () => {
    const result = await runCli(['ingest', '--follow'], {
      DATABASE_URL: UNREACHABLE_DB,
      INGEST_INTERVAL_SECONDS: '-1',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('INGEST_INTERVAL_SECONDS = "-1" must be a whole number between 1 and 86400');
    expect(result.stderr).not.toContain('DPOD_API_URL');
  });
});
