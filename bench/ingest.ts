/**
 * Ingest benchmark: generates N audit events with the simulator into a gzip export file, then measures
 * (a) raw COPY of the same rows into an unindexed, unlogged table (the limit), (b) `dpod-audit import`
 * of the file into an empty store (without sealing), (bs) the same import with sealing on into another empty store,
 * (s) `dpod-audit seal` of what (b) stored, (c) the same import again (all duplicates), (v) `dpod-audit verify` of
 * every event against (p) a plain psql SELECT of the same rows. Prints events/s, the ratios b/a, c/a, bs/b and
 * p/v, and the peak RSS of (b).
 *
 *   node dist/bench/ingest.js [--events 1000000]   (DATABASE_URL, else an embedded PostgreSQL)
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createDatabase } from '../src/db/connection';
import { migrateToLatest } from '../src/db/migrate';
import { ensurePartitions } from '../src/db/partitions';
import { encodeCopyRow, STAGING_COLUMNS } from '../src/ingest/copy-row';
import { eventKey, lineDigest, OccurrenceCounter } from '../src/ingest/event-key';
import { normalizeRecord } from '../src/ingest/record-normalizer';
import { RecordSplitter } from '../src/ingest/record-splitter';
import { PERIOD_EVENTS } from '../src/integrity/period-leaves';
import { createTenant, summarizeRecords, writeExportFile } from '../src/simulator';
import { runMeasured } from './ingest-support';
import { numberArg } from './bench-args';
import { benchServer } from './bench-server';

const log = (line: string) => process.stdout.write(`${line}\n`);
const rate = (n: number, s: number) => Math.round(n / s);

/** Writes the COPY rows of an export file to a text file (what the importer would send), untimed. */
async function renderCopyFile(gzPath: string, outPath: string): Promise<number> {
  const out = createWriteStream(outPath);
  const occurrences = new OccurrenceCounter();
  let rows = 0;
  let buffer = '';
  const splitter = new RecordSplitter(
    (text) => {
      const r = normalizeRecord(JSON.parse(text));
      if (!r.ok) return;
      const occ = occurrences.next(Math.floor(r.fields.timeMs / 1000), r.fields.canonical);
      buffer += encodeCopyRow(r.fields, eventKey(r.fields.canonical, occ), occ, null, null, lineDigest(text));
      rows++;
    },
    () => undefined,
  );
  const decoder = new StringDecoder('utf8');
  for await (const chunk of createReadStream(gzPath).pipe(createGunzip()) as AsyncIterable<Buffer>) {
    splitter.feed(decoder.write(chunk));
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
    }
  }
  splitter.end();
  out.end(buffer);
  await once(out, 'finish');
  return rows;
}

/** Seconds psql takes to fetch every stored event's sealed columns (what verify reads) and discard them; null without psql. */
async function timePlainScan(dbUrl: string): Promise<number | null> {
  const query = PERIOD_EVENTS.replace(/where[\s\S]*?order by/, 'order by e.service_id,');
  const t0 = Date.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn('psql', [dbUrl, '-qAt', '-v', 'FETCH_COUNT=10000', '-c', query], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', () => resolve(null));
    child.on('close', (c) => resolve(c));
  });
  return code === 0 ? (Date.now() - t0) / 1000 : null;
}

async function main(): Promise<void> {
  const target = numberArg('events', 1_000_000);
  const { adminUrl, embedded } = await benchServer(log);
  const dir = mkdtempSync(join(tmpdir(), 'bench-ingest-'));
  const dbName = `dpod_bench_ingest_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const dbUrl = url.toString();
  try {
    // Size the tenant so that it generates about `target` events over 14 days.
    const now = () => new Date(Date.UTC(2026, 10, 20));
    const days = 14;
    const probe = summarizeRecords(
      createTenant({ seed: 7, eventsPerDay: 1000, days, now }),
      new Date(now().getTime() - 86_400_000),
      now(),
    );
    const eventsPerDay = Math.max(1, Math.round((1000 * target) / (probe.total * days)));
    const tenant = createTenant({ seed: 7, eventsPerDay, days, now });
    const gz = join(dir, 'export.jsonl.gz');
    let t0 = Date.now();
    const file = await writeExportFile(tenant, new Date(now().getTime() - days * 86_400_000), now(), gz, 'gzip-jsonl');
    log(
      `generated ${file.records} events (${(file.bytes / 1_048_576).toFixed(1)} MB gzip) in ${((Date.now() - t0) / 1000).toFixed(1)}s`,
    );

    const copyPath = join(dir, 'rows.copy');
    const rows = await renderCopyFile(gz, copyPath);

    // (a) the limit: COPY of the same rows into an unindexed, unlogged table.
    const handle = createDatabase({ url: dbUrl, poolSize: 2 });
    await migrateToLatest(handle.db);
    const client = await handle.pool.connect();
    await client.query('create unlogged table bench_raw_copy (like audit_events including defaults)');
    t0 = Date.now();
    await pipeline(
      createReadStream(copyPath, { highWaterMark: 1 << 20 }),
      client.query(copyFrom(`copy bench_raw_copy (${STAGING_COLUMNS.join(', ')}) from stdin`)),
    );
    const aSeconds = (Date.now() - t0) / 1000;
    await client.query('drop table bench_raw_copy');
    client.release();
    await handle.destroy();

    // (d) for reference: the same COPY straight into the real audit_events (logged, partitioned, every index
    // and the rollup triggers idle): the floor of any design that keeps the store's indexes.
    const dName = `${dbName}_d`;
    await admin.query(`create database ${dName}`);
    const dUrl = new URL(dbUrl);
    dUrl.pathname = `/${dName}`;
    const dHandle = createDatabase({ url: dUrl.toString(), poolSize: 2 });
    let dSeconds = 0;
    try {
      await migrateToLatest(dHandle.db);
      await ensurePartitions(dHandle.db, [new Date(now().getTime() - days * 86_400_000), now()]);
      const dClient = await dHandle.pool.connect();
      t0 = Date.now();
      await pipeline(
        createReadStream(copyPath, { highWaterMark: 1 << 20 }),
        dClient.query(copyFrom(`copy audit_events (${STAGING_COLUMNS.join(', ')}) from stdin`)),
      );
      dSeconds = (Date.now() - t0) / 1000;
      dClient.release();
    } finally {
      await dHandle.destroy();
      await admin.query(`drop database if exists ${dName} with (force)`);
    }

    // (b) import into the empty store without sealing (no leaves computed), (s) sealing what it stored from the
    // columns, (c) the same import again, (v) verify; (bs) the same import with sealing on (leaves computed while
    // importing, closed hours sealed at the end) into a second empty store: (bs) against (b) is what sealing costs.
    const cli = join(__dirname, '..', 'src', 'cli.js');
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: dbUrl, LOG_LEVEL: 'warn' };
    // A checkpoint before each timed import, so that neither pays for writing out the dirty pages of the one before.
    await admin.query('checkpoint');
    const b = await runMeasured([cli, 'import', gz, '--no-progress', '--no-seal'], env);
    if (b.code !== 0) throw new Error(`import (b) failed: ${b.stderr}`);
    // (b)'s store is vacuumed first, so that autovacuum of its million new rows does not run during the others.
    const bStore = new pg.Client({ connectionString: dbUrl });
    await bStore.connect();
    await bStore.query('vacuum analyze');
    await bStore.end();
    // The import into a scratch store that is dropped afterwards.
    const scratchImport = async (name: string, args: string[]) => {
      await admin.query(`create database ${name}`);
      const scratchUrl = new URL(dbUrl);
      scratchUrl.pathname = `/${name}`;
      try {
        await admin.query('checkpoint');
        const run = await runMeasured([cli, 'import', gz, '--no-progress', ...args], {
          ...env,
          DATABASE_URL: scratchUrl.toString(),
        });
        if (run.code !== 0) throw new Error(`import ${args.join(' ')} into ${name} failed: ${run.stderr}`);
        return run;
      } finally {
        await admin.query(`drop database if exists ${name} with (force)`);
      }
    };
    // A B B A: sealing on twice, then sealing off once more, so that drift over the four runs hits both alike.
    const bs = await scratchImport(`${dbName}_s1`, []);
    const bs2 = await scratchImport(`${dbName}_s2`, []);
    const b2 = await scratchImport(`${dbName}_b2`, ['--no-seal']);
    const s = await runMeasured([cli, 'seal'], env);
    if (s.code !== 0) throw new Error(`seal (s) failed: ${s.stderr}`);
    const c = await runMeasured([cli, 'import', gz, '--no-progress'], env);
    if (c.code !== 0) throw new Error(`import (c) failed: ${c.stderr}`);
    const v = await runMeasured([cli, 'verify'], env);
    if (v.code !== 0) throw new Error(`verify (v) failed: ${v.stdout} ${v.stderr}`);
    const p = await timePlainScan(dbUrl);
    const check = createDatabase({ url: dbUrl, poolSize: 1 });
    const runs = await check.db.selectFrom('ingest_runs').selectAll().orderBy('id').execute();
    const stored = await check.db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    await check.destroy();
    const runSeconds = runs.map((r) => (r.finished_at!.getTime() - r.started_at.getTime()) / 1000);

    const aRate = rate(rows, aSeconds);
    const bRate = rate(rows, b.wallSeconds);
    const cRate = rate(rows, c.wallSeconds);
    log('');
    log(
      `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GB RAM, node ${process.version}`,
    );
    log(
      `rows: ${rows} (file ${(statSync(gz).size / 1_048_576).toFixed(1)} MB gzip); stored after (b)+(c): ${stored.n}`,
    );
    log(`(a) raw COPY, unindexed unlogged table: ${aSeconds.toFixed(2)}s  ${aRate} events/s`);
    log(
      `(b) dpod-audit import, empty store:     ${b.wallSeconds.toFixed(2)}s  ${bRate} events/s (process wall time; the run itself ${runSeconds[0]!.toFixed(2)}s, ${rate(rows, runSeconds[0]!)} events/s)`,
    );
    log(
      `(c) same import again (all duplicates): ${c.wallSeconds.toFixed(2)}s  ${cRate} events/s (the run itself ${runSeconds[1]!.toFixed(2)}s, ${rate(rows, runSeconds[1]!)} events/s)`,
    );
    log(
      `(d) reference: raw COPY into audit_events itself (logged, partitioned, all indexes): ${dSeconds.toFixed(2)}s  ${rate(rows, dSeconds)} events/s  (d/a = ${(rate(rows, dSeconds) / aRate).toFixed(2)}, b/d = ${(bRate / rate(rows, dSeconds)).toFixed(2)}, target >= 0.9)`,
    );
    log(
      `b/a = ${(bRate / aRate).toFixed(2)}   c/a = ${(cRate / aRate).toFixed(2)}   c/b = ${(cRate / bRate).toFixed(2)} (target >= 3)`,
    );
    log(
      `peak RSS of (b): ${(b.peakRssBytes / 1_048_576).toFixed(0)} MB (target < 200 MB); of (c): ${(c.peakRssBytes / 1_048_576).toFixed(0)} MB`,
    );
    const sealSeconds = Number(/ in (\d+\.\d+)s$/.exec(s.stdout.trim())?.[1] ?? NaN);
    const verifySeconds = Number(/ in (\d+\.\d+)s$/.exec(v.stdout.trim())?.[1] ?? NaN);
    const withSeal = bs.wallSeconds + bs2.wallSeconds;
    const withoutSeal = b.wallSeconds + b2.wallSeconds;
    log(
      `(bs) dpod-audit import with sealing on, empty store, twice: ${bs.wallSeconds.toFixed(2)}s, ${bs2.wallSeconds.toFixed(2)}s against (b) without sealing ${b.wallSeconds.toFixed(2)}s, ${b2.wallSeconds.toFixed(2)}s (process wall times, run A B B A): sealing adds ${((100 * (withSeal - withoutSeal)) / withoutSeal).toFixed(1)}% (target <= 10%); peak RSS ${(Math.max(bs.peakRssBytes, bs2.peakRssBytes) / 1_048_576).toFixed(0)} MB`,
    );
    log(
      `(s) for reference, sealing what (b) stored without leaves (every leaf recomputed from the columns): ${sealSeconds.toFixed(2)}s in the process (${s.wallSeconds.toFixed(2)}s with its start), ${((100 * sealSeconds) / runSeconds[0]!).toFixed(1)}% of the import run's own ${runSeconds[0]!.toFixed(2)}s`,
    );
    log(
      p === null
        ? `(v) dpod-audit verify: ${verifySeconds.toFixed(2)}s in the process  ${rate(rows, verifySeconds)} events/s (no psql on PATH: plain scan not measured)`
        : `(v) dpod-audit verify: ${verifySeconds.toFixed(2)}s in the process (${v.wallSeconds.toFixed(2)}s with its start)  ${rate(rows, verifySeconds)} events/s; (p) plain SELECT of the same rows by psql: ${p.toFixed(2)}s  ${rate(rows, p)} events/s; verify speed / scan speed = ${(p / verifySeconds).toFixed(2)} (target >= 0.5)`,
    );
    log(`(v) summary: ${v.stdout.trim()}`);
    log(`(b) summary: ${b.stdout.trim()}`);
    log(`(c) summary: ${c.stdout.trim()}`);
  } finally {
    await admin.query(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
    await embedded?.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
