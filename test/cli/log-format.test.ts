import { runCli } from '../support/cli';
import { createTestDatabase, type TestDatabase } from '../support/db';

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

const migrate = (LOG_FORMAT: string) => runCli(['migrate'], { DATABASE_URL: t.url, LOG_LEVEL: 'info', LOG_FORMAT });

describe('LOG_FORMAT', () => {
  it('json writes one JSON object per stderr line', async () => {
    const result = await migrate('json');
    expect(result.code).toBe(0);
    const lines = result.stderr.trim().split('\n');
    const records = lines.map((line) => JSON.parse(line) as { level: number; msg: string; service: string });
    expect(records.map(({ level, msg, service }) => ({ level, msg, service }))).toEqual([
      { level: 30, msg: 'database schema is current', service: 'dpod-audit-gateway' },
    ]);
  });

  it('pretty writes readable lines, not JSON', async () => {
    const result = await migrate('pretty');
    expect(result.code).toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: database schema is current$/);
    expect(lines[1]).toMatch(/^\s+applied: \[\]$/);
    expect(() => JSON.parse(lines[0] ?? '') as unknown).toThrow();
  });

  it('a bad value is a configuration error (exit 2) naming the variable and why', async () => {
    const result = await migrate('xml');
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toContain('LOG_FORMAT = "xml" must be one of json, pretty');
  });
});
