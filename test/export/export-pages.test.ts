import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { ensurePartitions } from '../../src/db/partitions';
import { inlineParameters, literal } from '../../src/db/sql-literal';
import { exportChunks } from '../../src/export/event-export';
import { normalizeFilter } from '../../src/graphql/audit/audit-filter';
import { UNRESTRICTED } from '../../src/graphql/auth-scope';
import { CLI } from '../support/cli';
import { createTestDatabase, type TestDatabase } from '../support/db';

let store: TestDatabase;
const DAY = Date.UTC(2026, 10, 16);
const SERVICES = ['svc-a', "svc-'b'", 'svc-\\c'];

/** Stores `n` events over one day in SQL (fast): three services, one of them with a quote and one a backslash. */
async function seed(n: number): Promise<void> {
  await ensurePartitions(store.db, [new Date(DAY)]);
  await sql`
    insert into audit_events (time, event_key, occurrence, source, partition_id, service_id, client_id, action, status,
                              object_ids, meta)
    select ${new Date(DAY).toISOString()}::timestamptz + (i * 86 || ' milliseconds')::interval, gen_random_uuid(), 0,
           'thales/cloudhsm/1', '1', (${SERVICES}::text[])[1 + i % 3], 'client-' || (i % 50),
           case when i % 7 = 0 then 'LUNA_LOGIN' else 'LUNA_SIGN' end,
           case when i % 11 = 0 then 'LUNA_RET_PIN_INCORRECT' else 'LUNA_RET_OK' end, '{}',
           jsonb_build_object('clientip', '10.0.0.' || (i % 200), 'hsmid', '567782', 'role', 'CU')
      from generate_series(1, ${n}) i`.execute(store.db);
  await sql`analyze audit_events`.execute(store.db);
}

beforeAll(async () => {
  store = await createTestDatabase();
}, 60_000);

afterAll(async () => {
  await store?.drop();
});

describe('inlining parameters for COPY', () => {
  it('quotes every kind of value so that it reads back as sent, and leaves quoted text alone', async () => {
    const values = ["o'brien", 'back\\slash', '$1 not a placeholder', 'ünï', ["a'b", 'c"d', 'e\\f', 'g,h'], 42, true];
    const text = inlineParameters(
      `select $1::text as a, $2::text as b, $3::text as c, $4::text as d, $5::text[] as e, $6::int as f, $7::bool as g, '$1' as h, "quoted$1" as i`.replace(
        '"quoted$1"',
        '\'"quoted$1"\'',
      ),
      values,
    );
    expect(text).not.toMatch(/\$[0-9]+::/);
    const { rows } = await store.pool.query(text);
    expect(rows[0]).toEqual({
      a: "o'brien",
      b: 'back\\slash',
      c: '$1 not a placeholder',
      d: 'ünï',
      e: ["a'b", 'c"d', 'e\\f', 'g,h'],
      f: 42,
      g: true,
      h: '$1',
      i: '"quoted$1"',
    });
    expect(() => literal(Number.NaN)).toThrow(/Cannot inline/);
    expect(() => inlineParameters('select $2', ['x'])).toThrow(/\$2 but 1 parameter/);
  });

  it('exports exactly the events of a filter whose values hold quotes and backslashes, and none of another', async () => {
    await store.truncate();
    await seed(3000);
    for (const service of SERVICES) {
      const filter = normalizeFilter({ serviceIds: [service] }, UNRESTRICTED);
      let text = '';
      for await (const chunk of exportChunks(() => store.pool.connect(), filter, 'ndjson', 'TIME_ASC'))
        text += chunk.toString('utf8');
      const lines = text.trim().split('\n');
      expect(lines).toHaveLength(1000);
      expect(new Set(lines.map((l) => (JSON.parse(l) as { serviceId: string }).serviceId))).toEqual(new Set([service]));
    }
    const hostile = normalizeFilter({ serviceIds: ["x'); drop table audit_events; --"] }, UNRESTRICTED);
    const chunks: Buffer[] = [];
    for await (const chunk of exportChunks(() => store.pool.connect(), hostile, 'csv', 'TIME_ASC')) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString('utf8').split('\r\n')).toHaveLength(2); // the header and nothing
    const { rows } = await store.pool.query<{ n: number }>('select count(*)::int as n from audit_events');
    expect(rows[0]!.n).toBe(3000);
  });
});

it("leaves no query timer armed after a page's COPY (pg's query_timeout), and its connections answer", async () => {
  await store.truncate();
  await seed(12_000);
  // A pool whose statements time out on the client side, as the server's do past STATEMENT_TIMEOUT_MS; no idle timers.
  const pool = new pg.Pool({ connectionString: store.url, max: 2, query_timeout: 60_000, idleTimeoutMillis: 0 });
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  try {
    await pool.query('select 1');
    const before = timers();
    const filter = normalizeFilter({}, UNRESTRICTED);
    let events = 0;
    let pages = 0;
    for await (const chunk of exportChunks(() => pool.connect(), filter, 'csv', 'TIME_ASC', {
      done: (s) => (events = s.events),
    })) {
      expect(chunk.length).toBeGreaterThan(0);
      pages++;
    }
    expect(events).toBe(12_000);
    expect(pages).toBeGreaterThan(2);
    // pg arms a 60 s timer per statement; each COPY's must be cleared when its page is read.
    expect(timers()).toBe(before);
    const { rows } = await pool.query<{ one: number }>('select 1 as one');
    expect(rows[0]!.one).toBe(1);
  } finally {
    await pool.end();
  }
});

/** Runs `dpod-audit export` on a heap capped at 64 MB; resolves with the file's hash, its lines and the peak RSS. */
function exportUnderCap(
  url: string,
  preload: string,
): Promise<{ sha256: string; lines: number; maxRssMb: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--max-old-space-size=64', '--require', preload, CLI, 'export', '--format', 'csv', '--no-progress'],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', DATABASE_URL: url } },
    );
    const hash = createHash('sha256');
    let lines = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      hash.update(d);
      for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) lines++;
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const rss = /max-rss-kb (\d+)/.exec(stderr);
      if (code !== 0 || !rss) return reject(new Error(`export exited ${code}: ${stderr.slice(-800)}`));
      resolve({ sha256: hash.digest('hex'), lines, maxRssMb: Number(rss[1]) / 1024, stderr });
    });
  });
}

it('exports a million events within a fixed memory bound, the same as it needs for a hundred thousand', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dpod-export-rss-'));
  try {
    // Printed by the child as it exits: its peak resident memory (getrusage's ru_maxrss, in KB on Linux).
    const preload = join(dir, 'print-max-rss.js');
    await writeFile(
      preload,
      "process.on('exit', () => process.stderr.write(`max-rss-kb ${process.resourceUsage().maxRSS}\\n`));\n",
    );
    await store.truncate();
    await seed(100_000);
    const small = await exportUnderCap(store.url, preload);
    expect(small.lines).toBe(100_001);
    await store.truncate();
    await seed(1_000_000);
    const large = await exportUnderCap(store.url, preload);
    expect(large.lines).toBe(1_000_001);
    expect(large.stderr).toContain(`1000000 event(s), sha256 ${large.sha256}`);
    process.stderr.write(
      `[export memory] peak RSS ${small.maxRssMb.toFixed(0)} MB for 100,000 events, ${large.maxRssMb.toFixed(0)} MB for 1,000,000\n`,
    );
    // The heap is capped at 64 MB (a growing export would die of it); the process stays under a fixed bound, and ten
    // times the events cost at most a few pages more.
    expect(large.maxRssMb).toBeLessThan(200);
    expect(large.maxRssMb - small.maxRssMb).toBeLessThan(40);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 240_000);

it('gives every connection back when the reader stops early (a client gone mid-export)', async () => {
  await store.truncate();
  await seed(20_000);
  const pool = new pg.Pool({ connectionString: store.url, max: 2 });
  try {
    const filter = normalizeFilter({}, UNRESTRICTED);
    let chunks = 0;
    for await (const chunk of exportChunks(() => pool.connect(), filter, 'csv', 'TIME_ASC')) {
      expect(chunk.length).toBeGreaterThan(0);
      if (++chunks === 2) break; // the header, then one page: the next page is being read ahead
    }
    // Let the page read ahead arrive (its connection, its COPY), then count the connections given back.
    await new Promise((r) => setTimeout(r, 1000));
    expect(pool.totalCount).toBe(2); // this page's and the one read ahead
    expect(pool.idleCount).toBe(pool.totalCount);
    // Both connections are free: two statements at once still run.
    const answers = await Promise.all([pool.query('select 1 as n'), pool.query('select 2 as n')]);
    expect(answers.map((a) => (a.rows[0] as { n: number }).n)).toEqual([1, 2]);
  } finally {
    await pool.end();
  }
});
