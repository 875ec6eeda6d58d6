import { Command, InvalidArgumentError, Option } from 'commander';
import { EXPORT_FORMATS, type ExportFormat } from './export-file';
import type { FaultSpec } from './fault-injector';
import { startSimulator, type RunningSimulator } from './simulator-server';

const wholeNumber = (min: number, max: number) => (value: string) => {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`must be a whole number between ${min} and ${max}`);
  const n = Number(value);
  if (n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max}`);
  return n;
};

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number > 0');
  return n;
};

const fraction = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new InvalidArgumentError('must be a fraction between 0 and 1 (e.g. 0.3)');
  return n;
};

const httpUrl = (value: string) => {
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol))
    throw new InvalidArgumentError('must be an http(s) URL');
  return value.replace(/\/+$/, '');
};

const isoTime = (value: string) => {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError('must be an ISO date-time, e.g. 2026-11-20T12:00:00Z');
  return new Date(ms);
};

interface SimulateFlags {
  port: number;
  host: string;
  seed: number;
  services: number;
  clientsPerService: number;
  eventsPerDay: number;
  badLineEvery: number;
  days: number;
  format: ExportFormat;
  exportDelayMs: number;
  tokenTtlSeconds: number;
  apiShape: 'documented' | 'variants';
  incidents: boolean;
  now?: Date;
  publicUrl?: string;
  errorRate?: number;
  rateLimitRate?: number;
  retryAfter?: number;
  latencyMs?: number;
  tokenExpiredRate?: number;
  truncateAfterBytes?: number;
  exportFailureRate?: number;
}

/** The banner printed at start: where the simulator is, its credentials and curl examples. */
export function simulatorBanner(sim: RunningSimulator, secretFromEnv: boolean): string {
  const now = sim.tenant.now();
  const from = new Date(now.getTime() - 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const to = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const listed = sim.tenant.listedServices();
  const first = listed.find((s) => s.hasAuditData) ?? listed[0];
  return [
    `DPoD simulator listening on ${sim.url}`,
    `  token endpoint  ${sim.tokenUrl}`,
    `  credentials     client_id=${sim.clientId} client_secret=${secretFromEnv ? '(from DPOD_CLIENT_SECRET)' : sim.clientSecret}`,
    `  tenant          ${sim.tenant.tenantId} (seed ${sim.tenant.seed}, ${listed.length} listed services, history ${new Date(sim.tenant.historyStartMs()).toISOString()} .. now)`,
    ...sim.tenant.incidents.map(
      (i) =>
        `  incident        ${i.rule} at ${i.events[0] ? new Date(i.events[0].ms).toISOString() : 'now'}: service ${i.serviceId}, client ${i.clientId}`,
    ),
    '',
    'Point the gateway at it:',
    `  DPOD_API_URL=${sim.url} DPOD_TOKEN_URL=${sim.tokenUrl} DPOD_CLIENT_ID=${sim.clientId} DPOD_CLIENT_SECRET=...`,
    '',
    'Try it:',
    `  TOKEN=$(curl -s ${sim.tokenUrl} -d grant_type=client_credentials -d client_id=${sim.clientId} -d client_secret=${secretFromEnv ? '"$DPOD_CLIENT_SECRET"' : sim.clientSecret} | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')`,
    `  curl -s -H "Authorization: Bearer $TOKEN" '${sim.url}/v1/service_instances?page=0&size=50'`,
    first
      ? `  curl -s -H "Authorization: Bearer $TOKEN" '${sim.url}/v1/service_instances/${first.id}/bindings?page=0&size=50'`
      : '',
    `  curl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"from":"${from}","to":"${to}"}' ${sim.url}/v1/audit-log-exports`,
    `  curl -s -H "Authorization: Bearer $TOKEN" ${sim.url}/v1/audit-log-exports/<jobId>     # until "state":"SUCCEEDED"`,
    `  curl -s '<location>' | gunzip | head -3`,
    `  curl -s ${sim.url}/__sim/stats`,
    '',
  ]
    .filter((line, i, all) => line !== '' || all[i - 1] !== '')
    .join('\n');
}

async function runSimulate(flags: SimulateFlags): Promise<void> {
  const fault: FaultSpec = {};
  if (flags.errorRate !== undefined) fault.errorRate = flags.errorRate;
  if (flags.rateLimitRate !== undefined) fault.rateLimitRate = flags.rateLimitRate;
  if (flags.retryAfter !== undefined) fault.retryAfterSeconds = flags.retryAfter;
  if (flags.latencyMs !== undefined) fault.latencyMs = flags.latencyMs;
  if (flags.tokenExpiredRate !== undefined) fault.tokenExpiredRate = flags.tokenExpiredRate;
  if (flags.truncateAfterBytes !== undefined) fault.truncateAfterBytes = flags.truncateAfterBytes;
  if (flags.exportFailureRate !== undefined) fault.exportFailureRate = flags.exportFailureRate;
  const fixedNow = flags.now;
  const sim = await startSimulator({
    port: flags.port,
    host: flags.host,
    seed: flags.seed,
    services: flags.services,
    clientsPerService: flags.clientsPerService,
    eventsPerDay: flags.eventsPerDay,
    days: flags.days,
    badLineEvery: flags.badLineEvery,
    format: flags.format,
    exportDelayMs: flags.exportDelayMs,
    tokenTtlSeconds: flags.tokenTtlSeconds,
    apiShape: flags.apiShape,
    incidents: flags.incidents,
    publicUrl: flags.publicUrl,
    now: fixedNow ? () => fixedNow : undefined,
    clientId: process.env.DPOD_CLIENT_ID || undefined,
    clientSecret: process.env.DPOD_CLIENT_SECRET || undefined,
  });
  if (Object.keys(fault).length > 0) {
    sim.setFault('*', fault);
    process.stdout.write(`Faults on every route: ${JSON.stringify(fault)}\n`);
  }
  process.stdout.write(`${simulatorBanner(sim, Boolean(process.env.DPOD_CLIENT_SECRET))}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stdout.write('Stopping the simulator.\n');
      sim.stop().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Adds `dpod-audit simulate`: the DPoD simulator as a standalone HTTP server. */
export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description(
      'run the DPoD simulator (token endpoint, platform API, Audit Query API, signed downloads) until stopped',
    )
    .option('--port <n>', 'TCP port (0: any free port)', wholeNumber(0, 65535), 4010)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--seed <n>', 'seed of the generated tenant and events', wholeNumber(0, 2 ** 32 - 1), 42)
    .option(
      '--services <n>',
      'listed Luna Cloud HSM services (half as many of other types are added)',
      wholeNumber(0, 1000),
      4,
    )
    .option('--clients-per-service <n>', 'bound clients per service', wholeNumber(0, 1000), 5)
    .option('--events-per-day <n>', 'audit events per Luna service per day', wholeNumber(0, 100_000_000), 2000)
    .option('--days <n>', 'days of history before now', positive, 7)
    .option(
      '--bad-line-every <n>',
      'follow about one record in n with a bad line in JSON Lines exports (0 = none)',
      wholeNumber(0, 1_000_000),
      0,
    )
    .addOption(new Option('--format <format>', 'export file format').choices(EXPORT_FORMATS).default('gzip-jsonl'))
    .option('--export-delay-ms <n>', 'how long an export job stays ACTIVE', wholeNumber(0, 3_600_000), 300)
    .option('--token-ttl-seconds <n>', 'lifetime of issued tokens', wholeNumber(1, 86_400), 3599)
    .addOption(
      new Option('--api-shape <shape>', 'item shapes of the platform API')
        .choices(['documented', 'variants'])
        .default('documented'),
    )
    .option('--public-url <url>', 'base of signed download URLs (default: the Host the caller used)', httpUrl)
    .option('--now <time>', 'freeze the clock at this time (default: real time)', isoTime)
    .option(
      '--incidents',
      'seed one scenario per detection rule at fixed times before now (docs/simulator.md#incidents; needs 3 services, 4 clients each)',
      false,
    )
    .option('--error-rate <fraction>', 'fault: fraction of requests answered 503', fraction)
    .option('--rate-limit-rate <fraction>', 'fault: fraction of requests answered 429', fraction)
    .option('--retry-after <seconds>', 'fault: Retry-After of injected 429s', positive)
    .option('--latency-ms <n>', 'fault: delay added to every request', wholeNumber(0, 600_000))
    .option('--token-expired-rate <fraction>', 'fault: fraction of API requests answered 401 (token expired)', fraction)
    .option('--truncate-after-bytes <n>', 'fault: cut every download after this many bytes', wholeNumber(0, 2 ** 31))
    .option('--export-failure-rate <fraction>', 'fault: fraction of export jobs that end FAILED', fraction)
    .addHelpText('after', '\nCredentials: DPOD_CLIENT_ID / DPOD_CLIENT_SECRET (default sim-client / sim-secret).')
    .action((flags: SimulateFlags) => runSimulate(flags));
}
