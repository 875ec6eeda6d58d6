import { z } from 'zod';
import { RULE_CODES, type DetectionSettings, type RuleCode } from './detect/catalog';
import { parseSigningKey, type SigningKey } from './integrity/signing-key';
import { parseWebhookUrls, type WebhookTarget } from './webhooks/webhook-target';

/** Log levels accepted by `LOG_LEVEL` (pino's names). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** Log formats accepted by `LOG_FORMAT`: JSON lines, or readable lines (pino-pretty); unset: pretty when stderr is a TTY. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
/** Authentication modes accepted by `AUTH_MODE`. */
export const AUTH_MODES = ['none', 'jwt'] as const;

/** Variables whose values must never be printed. */
// Webhook URLs often carry a token in their path (chat and SIEM hooks): hidden too.
const SECRET_VARIABLES = new Set([
  'DPOD_CLIENT_SECRET',
  'JWT_SECRET',
  'DATABASE_URL',
  'DATABASE_READ_URL',
  'WEBHOOK_URLS',
  'WEBHOOK_SECRET',
  'EXPORT_LINK_SECRET',
]);

/** An example of a good value for each variable, shown next to a problem (one per variable, checked by the compiler). */
const EXAMPLES: Record<keyof typeof envSchema.shape, string> = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/dpod_audit',
  DATABASE_READ_URL: 'postgres://reader@replica.internal:5432/dpod_audit',
  DATABASE_READ_MAX_LAG_SECONDS: '30',
  DPOD_API_URL: 'https://acme.eu.market.dpondemand.io',
  DPOD_TOKEN_URL: 'https://access.dpondemand.io/oauth/v1/token',
  DPOD_CLIENT_ID: 'a1b2c3d4-0000-4000-8000-000000000001',
  DPOD_CLIENT_SECRET: '(your platform client secret)',
  PORT: '4000',
  HOST: '0.0.0.0',
  AUTH_MODE: 'jwt',
  JWT_SECRET: '(at least 32 characters)',
  JWT_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
  JWT_ISSUER: 'https://idp.example.com/',
  JWT_AUDIENCE: 'dpod-audit-gateway',
  LOG_LEVEL: 'info',
  LOG_FORMAT: 'json',
  INGEST_INTERVAL_SECONDS: '60',
  INGEST_OVERLAP_SECONDS: '900',
  DPOD_CACHE_TTL_SECONDS: '300',
  RETENTION_DAYS: '400',
  STATEMENT_TIMEOUT_MS: '10000',
  REQUEST_TIMEOUT_MS: '30000',
  MAX_PAGE_SIZE: '500',
  MAX_QUERY_DEPTH: '12',
  MAX_QUERY_COST: '50000',
  MAX_ALIASES: '30',
  MAX_ROOT_FIELDS: '10',
  SUBSCRIPTION_QUEUE_LIMIT: '1000',
  EXPORT_LINK_SECRET: '(at least 32 characters)',
  BODY_LIMIT_BYTES: '1000000',
  CORS_ORIGINS: 'https://portal.example.com,https://ops.example.com',
  INTROSPECTION: 'true',
  GRAPHQL_FAST_LANE: 'true',
  EMBEDDED_PG_DIR: '/tmp/dpod-audit-pg',
  DB_POOL_SIZE: '10',
  INTEGRITY_SIGNING_KEY: '(an Ed25519 private key, PKCS#8 PEM or JWK)',
  INTEGRITY_GRACE_SECONDS: '900',
  DETECT_RULES: 'PIN_FAILURE_BURST,DESTRUCTIVE_OPERATION',
  DETECT_PIN_FAILURES: '5',
  DETECT_PIN_WINDOW_SECONDS: '600',
  DETECT_DESTROY_OBJECTS: '10',
  DETECT_DESTROY_WINDOW_SECONDS: '600',
  DETECT_HISTORY_DAYS: '30',
  DETECT_NEW_CLIENT_GRACE_DAYS: '3',
  DETECT_VOLUME_FACTOR: '5',
  DETECT_VOLUME_FLOOR: '500',
  DETECT_VOLUME_BASELINE_DAYS: '7',
  WEBHOOK_URLS: 'https://siem.example.com/hook>=HIGH,https://chat.example.com/x',
  WEBHOOK_SECRET: '(at least 16 characters)',
  WEBHOOK_MAX_ATTEMPTS: '10',
  WEBHOOK_TIMEOUT_MS: '5000',
  DETECT_UNBOUND_HORIZON_HOURS: '24',
};

const intIn = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { message: `must be a whole number between ${min} and ${max}` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: `must be between ${min} and ${max}` });

const postgresUrl = z
  .string()
  .trim()
  .refine((s) => /^postgres(ql)?:\/\//.test(s), { message: 'must start with postgres:// or postgresql://' })
  .refine((s) => URL.canParse(s), { message: 'is not a valid URL' });

const httpUrl = z
  .string()
  .trim()
  .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), { message: 'must be an http(s) URL' })
  .transform((s) => s.replace(/\/+$/, ''));

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((s) => ['true', 'false', '1', '0', 'yes', 'no'].includes(s), { message: 'must be true or false' })
  .transform((s) => ['true', '1', 'yes'].includes(s));

const envSchema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_READ_URL: postgresUrl.optional(),
  DATABASE_READ_MAX_LAG_SECONDS: intIn(0, 86_400).default('30'),
  DPOD_API_URL: httpUrl.optional(),
  DPOD_TOKEN_URL: httpUrl.optional(),
  DPOD_CLIENT_ID: z.string().trim().min(1, { message: 'must not be empty' }).optional(),
  DPOD_CLIENT_SECRET: z.string().min(1, { message: 'must not be empty' }).optional(),
  PORT: intIn(0, 65535).default('4000'),
  HOST: z.string().trim().min(1, { message: 'must not be empty' }).default('0.0.0.0'),
  AUTH_MODE: z.enum(AUTH_MODES, { message: `must be one of ${AUTH_MODES.join(', ')}` }).default('none'),
  JWT_SECRET: z.string().min(32, { message: 'must be at least 32 characters for HS256' }).optional(),
  JWT_JWKS_URL: httpUrl.optional(),
  JWT_ISSUER: z.string().trim().min(1, { message: 'must not be empty' }).optional(),
  JWT_AUDIENCE: z.string().trim().min(1, { message: 'must not be empty' }).optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  LOG_FORMAT: z.enum(LOG_FORMATS, { message: `must be one of ${LOG_FORMATS.join(', ')}` }).optional(),
  INGEST_INTERVAL_SECONDS: intIn(1, 86_400).default('60'),
  INGEST_OVERLAP_SECONDS: intIn(0, 86_400).default('900'),
  DPOD_CACHE_TTL_SECONDS: intIn(0, 86_400).default('300'),
  RETENTION_DAYS: intIn(1, 3650).default('400'),
  STATEMENT_TIMEOUT_MS: intIn(100, 600_000).default('10000'),
  REQUEST_TIMEOUT_MS: intIn(100, 600_000).default('30000'),
  MAX_PAGE_SIZE: intIn(1, 10_000).default('500'),
  MAX_QUERY_DEPTH: intIn(2, 100).default('12'),
  MAX_QUERY_COST: intIn(10, 100_000_000).default('50000'),
  MAX_ALIASES: intIn(1, 1000).default('30'),
  MAX_ROOT_FIELDS: intIn(1, 1000).default('10'),
  SUBSCRIPTION_QUEUE_LIMIT: intIn(1, 1_000_000).default('1000'),
  EXPORT_LINK_SECRET: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
  BODY_LIMIT_BYTES: intIn(1024, 100_000_000).default('1000000'),
  CORS_ORIGINS: z.string().trim().default(''),
  INTROSPECTION: bool.default('true'),
  GRAPHQL_FAST_LANE: bool.default('true'),
  EMBEDDED_PG_DIR: z.string().trim().min(1, { message: 'must not be empty' }).optional(),
  DB_POOL_SIZE: intIn(1, 200).default('10'),
  INTEGRITY_SIGNING_KEY: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      if (v === undefined || v.trim() === '') return;
      try {
        parseSigningKey(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
      }
    }),
  INTEGRITY_GRACE_SECONDS: intIn(0, 86_400).default('900'),
  DETECT_RULES: z
    .string()
    .trim()
    .transform((s): string[] =>
      s === '' || s.toLowerCase() === 'all'
        ? [...RULE_CODES]
        : s.toLowerCase() === 'none'
          ? []
          : s.split(',').map((r) => r.trim()),
    )
    .refine((rules) => rules.every((r) => (RULE_CODES as readonly string[]).includes(r)), {
      message: `must be "all", "none" or a comma-separated list of ${RULE_CODES.join(', ')}`,
    })
    .optional(),
  DETECT_PIN_FAILURES: intIn(2, 1000).default('5'),
  DETECT_PIN_WINDOW_SECONDS: intIn(1, 86_400).default('600'),
  DETECT_DESTROY_OBJECTS: intIn(2, 1_000_000).default('10'),
  DETECT_DESTROY_WINDOW_SECONDS: intIn(1, 86_400).default('600'),
  DETECT_HISTORY_DAYS: intIn(1, 365).default('30'),
  DETECT_NEW_CLIENT_GRACE_DAYS: intIn(0, 365).default('3'),
  DETECT_VOLUME_FACTOR: intIn(2, 10_000).default('5'),
  DETECT_VOLUME_FLOOR: intIn(1, 100_000_000).default('500'),
  DETECT_VOLUME_BASELINE_DAYS: intIn(1, 60).default('7'),
  WEBHOOK_URLS: z
    .string()
    .trim()
    .superRefine((v, ctx) => {
      try {
        parseWebhookUrls(v);
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          message: `must be comma-separated http(s) URLs, each optionally followed by >=SEVERITY: ${err instanceof Error ? err.message : String(err)}`,
        });
      }
    })
    .transform(parseWebhookUrls)
    .optional(),
  WEBHOOK_SECRET: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  WEBHOOK_MAX_ATTEMPTS: intIn(1, 100).default('10'),
  WEBHOOK_TIMEOUT_MS: intIn(100, 120_000).default('5000'),
  DETECT_UNBOUND_HORIZON_HOURS: intIn(1, 24 * 31).default('24'),
});

/** Rules that relate several variables; checked on the raw input so every problem is reported at once. */
function crossChecks(input: Record<string, string>): { name: string; message: string }[] {
  const problems: { name: string; message: string }[] = [];
  if (input.AUTH_MODE === 'jwt') {
    if (!input.JWT_SECRET && !input.JWT_JWKS_URL)
      problems.push({ name: 'JWT_SECRET', message: 'is required when AUTH_MODE=jwt (or set JWT_JWKS_URL)' });
    if (input.JWT_SECRET && input.JWT_JWKS_URL)
      problems.push({ name: 'JWT_JWKS_URL', message: 'cannot be combined with JWT_SECRET: choose one key source' });
    if (!input.JWT_ISSUER) problems.push({ name: 'JWT_ISSUER', message: 'is required when AUTH_MODE=jwt' });
    if (!input.JWT_AUDIENCE) problems.push({ name: 'JWT_AUDIENCE', message: 'is required when AUTH_MODE=jwt' });
  }
  if (input.DPOD_API_URL) {
    for (const name of ['DPOD_TOKEN_URL', 'DPOD_CLIENT_ID', 'DPOD_CLIENT_SECRET']) {
      if (!input[name]) problems.push({ name, message: 'is required when DPOD_API_URL is set' });
    }
  }
  if (input.WEBHOOK_URLS && !input.WEBHOOK_SECRET)
    problems.push({
      name: 'WEBHOOK_SECRET',
      message: 'is required when WEBHOOK_URLS is set (it signs every delivery)',
    });
  return problems;
}

/** The program's configuration: parsed once from the environment, frozen. */
export interface Config {
  readonly databaseUrl: string | undefined;
  readonly databaseReadUrl: string | undefined;
  /** Past this replay lag (`DATABASE_READ_MAX_LAG_SECONDS`), reads go to the primary. */
  readonly databaseReadMaxLagSeconds: number;
  readonly dpod: {
    readonly apiUrl: string | undefined;
    readonly tokenUrl: string | undefined;
    readonly clientId: string | undefined;
    readonly clientSecret: string | undefined;
    readonly cacheTtlSeconds: number;
  };
  readonly http: {
    readonly port: number;
    readonly host: string;
    readonly corsOrigins: readonly string[];
    readonly bodyLimitBytes: number;
    readonly requestTimeoutMs: number;
    /** Known queries skip Apollo's per-request pipeline (`GRAPHQL_FAST_LANE`; src/server/http/fast-lane.ts). */
    readonly fastLane: boolean;
  };
  readonly auth: {
    readonly mode: (typeof AUTH_MODES)[number];
    readonly jwtSecret: string | undefined;
    readonly jwksUrl: string | undefined;
    readonly issuer: string | undefined;
    readonly audience: string | undefined;
  };
  readonly limits: {
    readonly maxPageSize: number;
    readonly maxDepth: number;
    readonly maxCost: number;
    readonly maxAliases: number;
    readonly maxRootFields: number;
    /** Committed batches a subscriber may fall behind before it is cut off (`SUBSCRIPTION_QUEUE_LIMIT`). */
    readonly subscriptionQueueLimit: number;
    /** Signs export links (`EXPORT_LINK_SECRET`); undefined: a key per process. */
    readonly exportLinkSecret: string | undefined;
    readonly statementTimeoutMs: number;
    readonly introspection: boolean;
  };
  readonly ingest: {
    readonly intervalSeconds: number;
    readonly overlapSeconds: number;
    readonly retentionDays: number;
  };
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** `undefined`: pretty when stderr is a TTY, else JSON lines. */
  readonly logFormat: (typeof LOG_FORMATS)[number] | undefined;
  readonly embeddedPgDir: string | undefined;
  readonly dbPoolSize: number;
  readonly integrity: {
    /** Signs seals (`INTEGRITY_SIGNING_KEY`); null: seals are chained and unsigned. */
    readonly signingKey: SigningKey | null;
    /** Seconds past the follower's overlap before an hour is sealed. */
    readonly graceSeconds: number;
  };
  /** The detection rules that run and their settings (`DETECT_*`). */
  readonly detection: DetectionSettings;
  /** Where new findings are POSTed (`WEBHOOK_*`); no targets: none are sent. */
  readonly webhooks: {
    readonly targets: readonly WebhookTarget[];
    /** The HMAC-SHA256 key of the signature header (`WEBHOOK_SECRET`; set whenever there are targets). */
    readonly secret: string | undefined;
    /** Attempts before a delivery is FAILED (`WEBHOOK_MAX_ATTEMPTS`, default 10). */
    readonly maxAttempts: number;
    /** Per-attempt timeout (`WEBHOOK_TIMEOUT_MS`, default 5000). */
    readonly timeoutMs: number;
  };
}

/** Raised when the environment holds bad values; `problems` has one line per fault. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function describeValue(name: string, value: unknown): string {
  if (value === undefined) return 'is unset';
  if (SECRET_VARIABLES.has(name)) return '(value hidden)';
  return JSON.stringify(value);
}

/** Prefixes of the variables the program reads: another variable starting with one is likely misspelt. */
const OWN_PREFIXES = ['DPOD_', 'JWT_', 'DATABASE_', 'INGEST_', 'RETENTION_', 'AUTH_', 'WEBHOOK_'] as const;

/** Options for {@link loadConfig}. */
export interface LoadConfigOptions {
  /**
   * Receives one line per unknown variable with an own prefix (see {@link unknownVariableWarnings}). Default:
   * stderr, each line once per process, nothing when `LOG_LEVEL` is `fatal`, `error` or `silent`.
   */
  warn?: (line: string) => void;
}

const warnedOnStderr = new Set<string>();

function warnOnStderr(line: string): void {
  if (warnedOnStderr.has(line)) return;
  warnedOnStderr.add(line);
  process.stderr.write(`${line}\n`);
}

/**
 * One warning per variable that starts like the program's own (`DPOD_`, `JWT_`, `DATABASE_`, `INGEST_`,
 * `RETENTION_`, `AUTH_`, `WEBHOOK_`, in any case) but is not one of them, naming the closest known variable when it is at
 * most two edits away (or starts with the name and `_`). Kubernetes' service links (`DATABASE_SERVICE_HOST`, `DATABASE_PORT=tcp://...`) are not warned about.
 */
export function unknownVariableWarnings(env: NodeJS.ProcessEnv): string[] {
  const known = Object.keys(envSchema.shape);
  return Object.keys(env)
    .filter(
      (name) =>
        OWN_PREFIXES.some((p) => name.toUpperCase().startsWith(p)) &&
        !known.includes(name) &&
        !isServiceLink(name, env[name]),
    )
    .sort()
    .map((name) => {
      const upper = name.toUpperCase();
      const [nearest] = known
        .map((k) => ({ k, d: editDistance(upper, k) }))
        .filter(({ d }) => d <= 2)
        .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k));
      // A name without its unit (INGEST_INTERVAL for INGEST_INTERVAL_SECONDS) is as likely.
      const suggestion = nearest?.k ?? known.find((k) => k.startsWith(`${upper}_`));
      return `warning: ${name} is set but not read by this program; ignored${suggestion ? ` (did you mean ${suggestion}?)` : ''}`;
    });
}

/** Variables Kubernetes sets for each Service (a Service named `database` gives `DATABASE_SERVICE_HOST`, ...). */
function isServiceLink(name: string, value: string | undefined): boolean {
  if (/_SERVICE_(HOST|PORT)(_\w+)?$|_PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?$/.test(name)) return true;
  return /_PORT$/.test(name) && /^(tcp|udp|sctp):\/\//.test(value ?? '');
}

/** Edits (insert, delete, substitute, swap two neighbours) turning `a` into `b`. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Parses the environment into a frozen {@link Config}.
 * Throws {@link ConfigError} naming each bad variable, its fault and an example of a good value.
 * Unknown variables with the program's prefixes are reported through `options.warn`, never fatal.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const quiet = ['fatal', 'error', 'silent'].includes(env.LOG_LEVEL ?? '');
  const warn = options.warn ?? (quiet ? () => undefined : warnOnStderr);
  for (const line of unknownVariableWarnings(env)) warn(line);
  const known = Object.keys(envSchema.shape);
  const input: Record<string, string> = {};
  for (const name of known) {
    const value = env[name];
    if (value !== undefined && value !== '') input[name] = value;
  }
  const parsed = envSchema.safeParse(input);
  const issues = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map((i) => ({ name: String(i.path[0] ?? 'environment'), message: i.message }))),
    ...crossChecks(input),
  ];
  if (!parsed.success || issues.length > 0) {
    const problems = issues.map(({ name, message }) => {
      const shown = describeValue(name, input[name]);
      const example = name in EXAMPLES ? ` (example: ${name}=${EXAMPLES[name as keyof typeof EXAMPLES]})` : '';
      return `${name} ${shown === 'is unset' ? '' : `= ${shown} `}${message}${example}`.replace(/\s+/g, ' ').trim();
    });
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  return deepFreeze({
    databaseUrl: e.DATABASE_URL,
    databaseReadUrl: e.DATABASE_READ_URL,
    databaseReadMaxLagSeconds: e.DATABASE_READ_MAX_LAG_SECONDS,
    dpod: {
      apiUrl: e.DPOD_API_URL,
      tokenUrl: e.DPOD_TOKEN_URL,
      clientId: e.DPOD_CLIENT_ID,
      clientSecret: e.DPOD_CLIENT_SECRET,
      cacheTtlSeconds: e.DPOD_CACHE_TTL_SECONDS,
    },
    http: {
      port: e.PORT,
      host: e.HOST,
      corsOrigins: e.CORS_ORIGINS.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
      fastLane: e.GRAPHQL_FAST_LANE,
    },
    auth: {
      mode: e.AUTH_MODE,
      jwtSecret: e.JWT_SECRET,
      jwksUrl: e.JWT_JWKS_URL,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
    },
    limits: {
      maxPageSize: e.MAX_PAGE_SIZE,
      maxDepth: e.MAX_QUERY_DEPTH,
      maxCost: e.MAX_QUERY_COST,
      maxAliases: e.MAX_ALIASES,
      maxRootFields: e.MAX_ROOT_FIELDS,
      subscriptionQueueLimit: e.SUBSCRIPTION_QUEUE_LIMIT,
      exportLinkSecret: e.EXPORT_LINK_SECRET,
      statementTimeoutMs: e.STATEMENT_TIMEOUT_MS,
      introspection: e.INTROSPECTION,
    },
    ingest: {
      intervalSeconds: e.INGEST_INTERVAL_SECONDS,
      overlapSeconds: e.INGEST_OVERLAP_SECONDS,
      retentionDays: e.RETENTION_DAYS,
    },
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    embeddedPgDir: e.EMBEDDED_PG_DIR,
    dbPoolSize: e.DB_POOL_SIZE,
    integrity: {
      signingKey: e.INTEGRITY_SIGNING_KEY?.trim() ? parseSigningKey(e.INTEGRITY_SIGNING_KEY) : null,
      graceSeconds: e.INTEGRITY_GRACE_SECONDS,
    },
    detection: {
      rules: (e.DETECT_RULES ?? [...RULE_CODES]) as RuleCode[],
      pinFailures: e.DETECT_PIN_FAILURES,
      pinWindowSeconds: e.DETECT_PIN_WINDOW_SECONDS,
      destroyObjects: e.DETECT_DESTROY_OBJECTS,
      destroyWindowSeconds: e.DETECT_DESTROY_WINDOW_SECONDS,
      historyDays: e.DETECT_HISTORY_DAYS,
      newClientGraceDays: e.DETECT_NEW_CLIENT_GRACE_DAYS,
      volumeFactor: e.DETECT_VOLUME_FACTOR,
      volumeFloor: e.DETECT_VOLUME_FLOOR,
      volumeBaselineDays: e.DETECT_VOLUME_BASELINE_DAYS,
      unboundHorizonHours: e.DETECT_UNBOUND_HORIZON_HOURS,
    },
    webhooks: {
      targets: e.WEBHOOK_URLS ?? [],
      secret: e.WEBHOOK_SECRET,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    },
  });
}

/** The variables that connect the program to a DPoD tenant (or the simulator). */
export const DPOD_VARIABLES = ['DPOD_API_URL', 'DPOD_TOKEN_URL', 'DPOD_CLIENT_ID', 'DPOD_CLIENT_SECRET'] as const;

/**
 * Throws a {@link ConfigError} naming each unset DPoD variable unless `config` can reach DPoD;
 * `purpose` completes "is required ..." (e.g. "by `dpod-audit ingest`").
 */
export function assertDpodConfigured(config: Config, purpose: string): void {
  const values: Record<(typeof DPOD_VARIABLES)[number], string | undefined> = {
    DPOD_API_URL: config.dpod.apiUrl,
    DPOD_TOKEN_URL: config.dpod.tokenUrl,
    DPOD_CLIENT_ID: config.dpod.clientId,
    DPOD_CLIENT_SECRET: config.dpod.clientSecret,
  };
  const missing = DPOD_VARIABLES.filter((name) => !values[name]);
  if (missing.length > 0)
    throw new ConfigError(missing.map((name) => `${name} is required ${purpose} (example: ${name}=${EXAMPLES[name]})`));
}

/** The variables the program reads (the schema's keys), for docs and checks. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
