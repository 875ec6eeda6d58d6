import { Agent, request } from 'node:http';
import autocannon from 'autocannon';
import type pg from 'pg';

/** Latency percentiles of sequential runs, in ms. */
export interface Latency {
  p50: number;
  p95: number;
}

/** Runs `fn` `n` times one after another (after `warmup` untimed runs); returns p50/p95 in ms. */
export async function sequentialLatency(n: number, fn: () => Promise<unknown>, warmup = 20): Promise<Latency> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { p50: at(0.5), p95: at(0.95) };
}

/** Throughput of a GraphQL POST, and the server's CPU time per request when it can be read. */
export interface Throughput {
  rps: number;
  /** Server process CPU (user + system) per request in ms; NaN when unknown. */
  cpuMsPerRequest: number;
}

/** Requests per second of a GraphQL POST under `connections` concurrent clients (autocannon). */
export async function graphqlThroughput(
  url: string,
  body: string,
  connections: number,
  seconds: number,
  serverCpuMs: () => number = () => NaN,
): Promise<Throughput> {
  const cpu0 = serverCpuMs();
  const job = autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration: seconds,
  }) as Promise<autocannon.Result> & Pick<NodeJS.EventEmitter, 'on'>;
  // What the failed requests failed with (a count alone says nothing of a refused connection or a reset).
  const failures = new Map<string, number>();
  job.on('reqError', (err: Error & { code?: string }) => {
    const what = err.code ?? err.message;
    failures.set(what, (failures.get(what) ?? 0) + 1);
  });
  const result = await job;
  const cpuMs = serverCpuMs() - cpu0;
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(
      `GraphQL throughput run against ${url} had ${result.non2xx} non-2xx answers, ${result.errors} errors (${[...failures].map(([k, n]) => `${k} x${n}`).join(', ') || 'none reported'}) and ${result.timeouts} timeouts`,
    );
  return { rps: result.requests.average, cpuMsPerRequest: cpuMs / Math.max(1, result.requests.total) };
}

/** Queries per second of one SQL statement under `concurrency` concurrent pool clients. */
export async function sqlThroughput(
  pool: pg.Pool,
  text: string,
  values: unknown[],
  concurrency: number,
  seconds: number,
): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        await pool.query(text, values);
        done++;
      }
    }),
  );
  return done / seconds;
}

// One kept-alive connection, like the one pg keeps: the comparison is the query, not connection setup.
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/**
 * POSTs a GraphQL request over a kept-alive connection and resolves with its `data`, of the shape `TData` the caller's
 * query selects (unchecked); fails loudly on errors (failing queries measure nothing).
 */
export function postGraphql<TData = unknown>(url: string, body: string): Promise<TData> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: TData; errors?: unknown[] };
          if (res.statusCode !== 200 || json.errors)
            reject(
              new Error(
                `GraphQL request failed (${res.statusCode}): ${JSON.stringify(json.errors ?? json).slice(0, 500)}`,
              ),
            );
          else resolve(json.data as TData);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Runs every task `n` times, interleaved (task 1, task 2, ..., task 1, ...), after `warmup` rounds, so that
 * load from elsewhere on a shared machine affects every task alike; returns p50/p95 per task in ms.
 * The warm-up stands for a server in service: V8 optimises the hot paths (the compiled operation, row
 * decoding) only after some dozens of runs of them.
 */
export async function interleavedLatency(
  tasks: (() => Promise<unknown>)[],
  n: number,
  warmup = 50,
): Promise<Latency[]> {
  for (let i = 0; i < warmup; i++) for (const t of tasks) await t();
  const times = tasks.map(() => [] as number[]);
  for (let i = 0; i < n; i++) {
    for (const [k, t] of tasks.entries()) {
      const t0 = process.hrtime.bigint();
      await t();
      times[k]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  return times.map((list) => {
    list.sort((a, b) => a - b);
    const at = (q: number) => list[Math.min(list.length - 1, Math.floor(q * list.length))]!;
    return { p50: at(0.5), p95: at(0.95) };
  });
}

/** The `n` of a `select count(*) as n ...` (pg returns bigint counts as text). */
export async function countOf(pool: pg.Pool, text: string, params: unknown[] = []): Promise<number> {
  const n = (await pool.query<{ n: string }>(text, params)).rows[0]?.n;
  if (n === undefined) throw new Error(`no count from: ${text}`);
  return Number(n);
}

/** Formats ms with 2 decimals. */
export const ms = (v: number) => `${v.toFixed(2)} ms`;

/** A `dpod-audit serve` child process. */
export interface ServerProcess {
  endpoint: string;
  /** CPU time (user + system) the server process used so far, in ms (Linux `/proc`; NaN elsewhere). */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** Starts `node <cli> serve` on a free port with `env` added; resolves once it listens. */
export async function startServerProcess(cli: string, env: Record<string, string>): Promise<ServerProcess> {
  const { spawn } = await import('node:child_process');
  const { freePort } = await import('../src/db/embedded');
  const port = await freePort();
  const child = spawn(process.execPath, [cli, 'serve', '--port', String(port), '--host', '127.0.0.1'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('GraphQL on ')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${output.slice(-2000)}`)));
    setTimeout(() => reject(new Error(`serve did not start in 60 s: ${output.slice(-2000)}`)), 60_000).unref();
  });
  const { readFileSync } = await import('node:fs');
  const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
  return {
    endpoint: `http://127.0.0.1:${port}/graphql`,
    cpuMs() {
      try {
        // Fields after the "(comm)" one: utime and stime are the 12th and 13th.
        const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return (Number(fields[11]) + Number(fields[12])) / ticksPerMs;
      } catch {
        return NaN;
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
