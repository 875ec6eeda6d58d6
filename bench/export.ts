/**
 * Export benchmark: generates about N audit events (default 1,000,000) with the simulator, imports them, then writes
 * them all as CSV three ways, alternated, to /dev/null: `dpod-audit export --format csv` (the same streaming code as
 * GET /export), and PostgreSQL's own `psql -c "\copy (select ...) to stdout csv"` of the same rows and columns in
 * the same order (the floor). Prints seconds, events/s, the ratio export/psql (issue 18's target: >= 0.5) and the
 * export process's peak RSS (flat memory: it must not grow with the number of events).
 *
 *   node dist/bench/export.js [--events 1000000] [--rounds 3]   (DATABASE_URL, else an embedded PostgreSQL; needs psql)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTenant, writeExportFile } from '../src/simulator';
import { numberArg } from './bench-args';
import { benchServer } from './bench-server';

const log = (line: string) => process.stdout.write(`${line}\n`);
const DAY = 86_400_000;

/** Runs a command with stdout to /dev/null under /usr/bin/time; resolves with seconds and peak RSS (KB). */
function timed(cmd: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; rssKb: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%M', ...cmd], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${cmd.join(' ')} exited ${code}: ${err.slice(-500)}`));
      const rss = Number(err.trim().split('\n').pop());
      resolve({ seconds: (performance.now() - started) / 1000, rssKb: rss });
    });
  });
}

async function main(): Promise<void> {
  const target = numberArg('events', 1_000_000);
  const rounds = numberArg('rounds', 3);
  const { adminUrl, embedded } = await benchServer(log);
  const dir = mkdtempSync(join(tmpdir(), 'bench-export-'));
  const dbName = `dpod_bench_export_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  try {
    const days = 4;
    const end = new Date(Date.UTC(2026, 10, 20));
    // The simulator's days are quieter than eventsPerDay x 5 services (weekends, nights): ask for a quarter more.
    const tenant = createTenant({
      seed: 7,
      eventsPerDay: Math.round((target * 1.25) / days / 5),
      days,
      now: () => end,
    });
    const gz = join(dir, 'export.jsonl.gz');
    const file = await writeExportFile(tenant, new Date(end.getTime() - days * DAY), end, gz, 'gzip-jsonl');
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: url.toString(), LOG_LEVEL: 'warn' };
    const cli = join(__dirname, '..', 'src', 'cli.js');
    await timed([process.execPath, cli, 'import', gz, '--no-progress', '--no-seal'], env);
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
    await pool.query('vacuum analyze');
    const n = (await pool.query<{ n: number }>('select count(*)::int as n from audit_events')).rows[0]!.n;
    await pool.end();
    log(`${file.records} events generated, ${n} stored`);
    const copy =
      '\\copy (select e.id, to_char(e.time at time zone \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\'), e.service_id, ' +
      "e.client_id, e.tenant_id, e.action, e.status, e.status = 'LUNA_RET_OK', e.source, e.partition_id, e.trace_id, " +
      'host(e.client_ip), e.hsm_id, e.object_ids, e.partition_serial, e.role, e.meta_malformed, ' +
      'coalesce(e.meta_raw, e.meta::text) from audit_events e order by e.time, e.id) to stdout csv header';
    log('| round | dpod-audit export s | events/s | peak RSS MB | psql \\copy s | export / psql (speed) |');
    log('|---|---|---|---|---|---|');
    for (let r = 1; r <= rounds; r++) {
      // Alternated: psql first in odd rounds, the export first in even ones.
      const runPsql = () => timed(['psql', url.toString(), '-q', '-c', copy], env);
      const runExport = () => timed([process.execPath, cli, 'export', '--format', 'csv', '--no-progress'], env);
      const [a, b] = r % 2 === 1 ? [await runPsql(), await runExport()] : [null, await runExport()];
      const psql = a ?? (await runPsql());
      const ours = b;
      log(
        `| ${r} | ${ours.seconds.toFixed(2)} | ${Math.round(n / ours.seconds)} | ${(ours.rssKb / 1024).toFixed(0)} | ` +
          `${psql.seconds.toFixed(2)} | ${(psql.seconds / ours.seconds).toFixed(2)} |`,
      );
    }
    // Flat memory: the same export of about a tenth of the events (its first 9.6 hours), peak RSS beside the whole's.
    const tenth = JSON.stringify({ to: new Date(end.getTime() - days * DAY + (days * DAY) / 10).toISOString() });
    const small = await timed(
      [process.execPath, cli, 'export', '--format', 'csv', '--no-progress', '--filter', tenth],
      env,
    );
    log(`\npeak RSS of a tenth of the events (${tenth}): ${(small.rssKb / 1024).toFixed(0)} MB`);
  } finally {
    await admin.query(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
    await embedded?.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
