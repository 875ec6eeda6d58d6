/**
 * Detection benchmark: generates about N audit events (default 1,000,000) over D days (default 8: the last day is
 * measured, the days before it are the history VOLUME_SPIKE and the 30-day rules read) with the simulator, imports
 * them, then times one detection pass over the last day with each rule alone and with all of them (the follower runs
 * one such pass per interval over much less). Prints the day's events, seconds per rule and events/s.
 *
 *   node dist/bench/detect.js [--events 1000000] [--days 8]   (DATABASE_URL, else an embedded PostgreSQL)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DEFAULT_DETECTION_SETTINGS, detectFindings } from '../src/detect';
import { RULE_CODES } from '../src/detect/catalog';
import { createTenant, summarizeRecords, writeExportFile } from '../src/simulator';
import { numberArg } from './bench-args';
import { benchServer } from './bench-server';

const log = (line: string) => process.stdout.write(`${line}\n`);
const DAY = 86_400_000;

function run(cmd: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, cmd, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd.join(' ')} exited ${code}`))));
  });
}

async function main(): Promise<void> {
  const target = numberArg('events', 1_000_000);
  const days = numberArg('days', 8);
  const { adminUrl, embedded } = await benchServer(log);
  const dir = mkdtempSync(join(tmpdir(), 'bench-detect-'));
  const dbName = `dpod_bench_detect_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  try {
    const end = new Date(Date.UTC(2026, 10, 20));
    const now = () => end;
    const probe = summarizeRecords(
      createTenant({ seed: 7, eventsPerDay: 1000, days, now }),
      new Date(end.getTime() - DAY),
      end,
    );
    const eventsPerDay = Math.max(1, Math.round((1000 * target) / (probe.total * days)));
    const tenant = createTenant({ seed: 7, eventsPerDay, days, now });
    const gz = join(dir, 'export.jsonl.gz');
    const file = await writeExportFile(tenant, new Date(end.getTime() - days * DAY), end, gz, 'gzip-jsonl');
    log(`generated ${file.records} events over ${days} days`);
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: url.toString(), LOG_LEVEL: 'warn' };
    await run([join(__dirname, '..', 'src', 'cli.js'), 'import', gz, '--no-progress', '--no-seal'], env);
    await pool.query('vacuum analyze');
    const range = { from: new Date(end.getTime() - DAY), to: end };
    const { rows } = await pool.query<{ n: number }>(
      'select count(*)::int as n from audit_events where time >= $1 and time < $2',
      [range.from, range.to],
    );
    const dayEvents = rows[0]!.n;
    log(`the measured day (${range.from.toISOString()} .. ${range.to.toISOString()}): ${dayEvents} events`);
    log('| rules | findings raised | pass s (first) | pass s (again: nothing new) | events/s (first) |');
    log('|---|---|---|---|---|');
    for (const rules of [...RULE_CODES.map((r) => [r]), [...RULE_CODES]]) {
      await pool.query('truncate findings cascade');
      const settings = { ...DEFAULT_DETECTION_SETTINGS, rules };
      let t0 = performance.now();
      const first = await detectFindings(pool, range, settings);
      const firstS = (performance.now() - t0) / 1000;
      t0 = performance.now();
      await detectFindings(pool, range, settings);
      const againS = (performance.now() - t0) / 1000;
      const name = rules.length === 1 ? rules[0]! : 'all';
      log(
        `| ${name} | ${first.raised} | ${firstS.toFixed(2)} | ${againS.toFixed(2)} | ${Math.round(dayEvents / firstS)} |`,
      );
    }
  } finally {
    await pool.end();
    await admin.query(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
    await embedded?.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
