import { runCli } from './support/cli';

// The suite may run against DATABASE_URL; this test always exercises the embedded path of the CLI.
describe('embedded PostgreSQL', () => {
  it('starts, migrates and stops when DATABASE_URL is unset', async () => {
    const result = await runCli(['migrate'], { DATABASE_URL: undefined }, 120_000);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^applied 20261125_0001_audit_store$/m);
    expect(result.stdout).toMatch(/Applied \d+ migration\(s\)\./);
  });
});
