import { assertDpodConfigured, ConfigError, loadConfig } from '../src/config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(4000);
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.auth.mode).toBe('none');
    expect(config.logLevel).toBe('info');
    expect(config.ingest).toEqual({ intervalSeconds: 60, overlapSeconds: 900, retentionDays: 400 });
    expect(config.dpod.cacheTtlSeconds).toBe(300);
    expect(config.limits.maxPageSize).toBe(500);
    expect(config.databaseUrl).toBeUndefined();
  });

  it('reads the detection rules and their settings, refusing unknown rules and bad numbers', () => {
    expect(loadConfig({}).detection).toMatchObject({
      rules: [
        'PIN_FAILURE_BURST',
        'DESTRUCTIVE_OPERATION',
        'KEY_EXPORT_BY_NEW_CLIENT',
        'NEW_CLIENT_ADDRESS',
        'VOLUME_SPIKE',
        'UNBOUND_CLIENT_ACTIVITY',
      ],
      pinFailures: 5,
      pinWindowSeconds: 600,
      historyDays: 30,
      unboundHorizonHours: 24,
    });
    expect(loadConfig({ DETECT_UNBOUND_HORIZON_HOURS: '6' }).detection.unboundHorizonHours).toBe(6);
    expect(problemsOf({ DETECT_UNBOUND_HORIZON_HOURS: '0' })).toEqual([
      expect.stringMatching(/^DETECT_UNBOUND_HORIZON_HOURS = "0" must be between 1 and 744/),
    ]);
    expect(loadConfig({ DETECT_RULES: 'none' }).detection.rules).toEqual([]);
    expect(
      loadConfig({ DETECT_RULES: ' VOLUME_SPIKE , PIN_FAILURE_BURST', DETECT_PIN_FAILURES: '8' }).detection,
    ).toMatchObject({
      rules: ['VOLUME_SPIKE', 'PIN_FAILURE_BURST'],
      pinFailures: 8,
    });
    const problems = problemsOf({ DETECT_RULES: 'PIN_FAILURE_BURST,SOMETHING', DETECT_PIN_FAILURES: '1' });
    expect(problems).toEqual([
      expect.stringMatching(/^DETECT_RULES = .* must be "all", "none" or a comma-separated list of PIN_FAILURE_BURST/),
      expect.stringMatching(/^DETECT_PIN_FAILURES = "1" must be between 2 and 1000/),
    ]);
  });

  it('reads the webhook URLs with their minimum severities, and refuses bad URLs, severities and secrets by name', () => {
    expect(loadConfig({}).webhooks).toEqual({ targets: [], secret: undefined, maxAttempts: 10, timeoutMs: 5000 });
    const secret = 's'.repeat(16);
    expect(
      loadConfig({
        WEBHOOK_URLS: ' https://siem.example/hook >= high , http://chat.example:8080/x?a=1',
        WEBHOOK_SECRET: secret,
        WEBHOOK_MAX_ATTEMPTS: '3',
        WEBHOOK_TIMEOUT_MS: '250',
      }).webhooks,
    ).toEqual({
      targets: [
        { url: 'https://siem.example/hook', minSeverity: 'HIGH' },
        { url: 'http://chat.example:8080/x?a=1', minSeverity: 'LOW' },
      ],
      secret,
      maxAttempts: 3,
      timeoutMs: 250,
    });
    expect(problemsOf({ WEBHOOK_URLS: 'https://a.example/h' })).toEqual([
      expect.stringMatching(/^WEBHOOK_SECRET is required when WEBHOOK_URLS is set/),
    ]);
    expect(problemsOf({ WEBHOOK_URLS: 'https://a.example/h', WEBHOOK_SECRET: 'short' })).toEqual([
      'WEBHOOK_SECRET = (value hidden) must be at least 16 characters (example: WEBHOOK_SECRET=(at least 16 characters))',
    ]);
    const bad = (urls: string) => problemsOf({ WEBHOOK_URLS: urls, WEBHOOK_SECRET: secret });
    expect(bad('https://a.example/h,ftp://b.example/token123')).toEqual([
      expect.stringMatching(/^WEBHOOK_URLS = \(value hidden\) must be .*: entry 2 of 2 is not an http\(s\) URL/),
    ]);
    expect(bad('not a url')[0]).toMatch(/the entry is not an http\(s\) URL/);
    expect(bad('https://a.example/h>=URGENT')[0]).toMatch(
      /the entry has an unknown severity after ">=": use one of LOW, MEDIUM, HIGH, CRITICAL/,
    );
    expect(bad('https://a.example/h,,https://b.example/h')[0]).toMatch(/entry 2 of 3 is empty/);
    expect(bad('https://a.example/h,https://a.example/h>=HIGH')[0]).toMatch(/entry 2 of 2 repeats an earlier URL/);
    // The URLs are never printed: they often hold a token.
    expect(bad('https://a.example/h,ftp://b.example/token123').join('\n')).not.toContain('token123');
    expect(problemsOf({ WEBHOOK_MAX_ATTEMPTS: '0', WEBHOOK_TIMEOUT_MS: 'soon' })).toEqual([
      expect.stringMatching(/^WEBHOOK_MAX_ATTEMPTS = "0" must be between 1 and 100/),
      expect.stringMatching(/^WEBHOOK_TIMEOUT_MS = "soon" must be a whole number between 100 and 120000/),
    ]);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({ PORT: '5000' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
    expect(() => {
      (config.http as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('parses a complete valid environment', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/audit',
      DPOD_API_URL: 'https://acme.eu.market.dpondemand.io/',
      DPOD_TOKEN_URL: 'https://access.dpondemand.io/oauth/v1/token',
      DPOD_CLIENT_ID: 'cid',
      DPOD_CLIENT_SECRET: 'secret',
      PORT: '8080',
      AUTH_MODE: 'jwt',
      JWT_SECRET: 'x'.repeat(32),
      JWT_ISSUER: 'https://idp',
      JWT_AUDIENCE: 'gw',
      LOG_LEVEL: 'debug',
      INGEST_INTERVAL_SECONDS: '30',
      DPOD_CACHE_TTL_SECONDS: '10',
      CORS_ORIGINS: 'https://a.example, https://b.example',
      INTROSPECTION: 'false',
    });
    expect(config.dpod.apiUrl).toBe('https://acme.eu.market.dpondemand.io');
    expect(config.http.port).toBe(8080);
    expect(config.http.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.auth).toMatchObject({ mode: 'jwt', issuer: 'https://idp', audience: 'gw' });
    expect(config.limits.introspection).toBe(false);
    expect(config.ingest.intervalSeconds).toBe(30);
  });

  it.each([
    ['PORT', 'abc', /^PORT = "abc" must be a whole number between 0 and 65535 \(example: PORT=4000\)$/],
    ['PORT', '70000', /^PORT = "70000" must be between 0 and 65535/],
    ['DATABASE_URL', 'mysql://x', /^DATABASE_URL = \(value hidden\) must start with postgres:\/\//],
    ['DPOD_TOKEN_URL', 'ftp://x', /^DPOD_TOKEN_URL = "ftp:\/\/x" must be an http\(s\) URL \(example: /],
    ['AUTH_MODE', 'basic', /^AUTH_MODE = "basic" must be one of none, jwt/],
    ['LOG_LEVEL', 'loud', /^LOG_LEVEL = "loud" must be one of fatal, error/],
    ['INGEST_INTERVAL_SECONDS', '0', /^INGEST_INTERVAL_SECONDS = "0" must be between 1 and 86400/],
    ['DPOD_CACHE_TTL_SECONDS', '-5', /^DPOD_CACHE_TTL_SECONDS = "-5" must be a whole number between 0 and 86400 /],
    ['INGEST_INTERVAL_SECONDS', '-60', /^INGEST_INTERVAL_SECONDS = "-60" must be a whole number between 1 and 86400 /],
    ['PORT', '4000.5', /^PORT = "4000.5" must be a whole number between 0 and 65535 /],
    ['INTROSPECTION', 'maybe', /^INTROSPECTION = "maybe" must be true or false/],
    ['JWT_JWKS_URL', 'not a url', /^JWT_JWKS_URL = "not a url" must be an http\(s\) URL/],
  ])('names %s when it is %p', (name, value, expected) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
  });

  it('reports every problem at once, one line each', () => {
    const problems = problemsOf({ PORT: 'x', LOG_LEVEL: 'y', AUTH_MODE: 'jwt' });
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual([
      'JWT_AUDIENCE',
      'JWT_ISSUER',
      'JWT_SECRET',
      'LOG_LEVEL',
      'PORT',
    ]);
  });

  it('requires the DPoD credentials together with DPOD_API_URL', () => {
    const problems = problemsOf({ DPOD_API_URL: 'https://acme.eu.market.dpondemand.io' });
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual([
      'DPOD_CLIENT_ID',
      'DPOD_CLIENT_SECRET',
      'DPOD_TOKEN_URL',
    ]);
  });

  it('never prints secret values', () => {
    const secret = 'short-secret-value';
    const problems = problemsOf({ AUTH_MODE: 'jwt', JWT_SECRET: secret, JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' });
    expect(problems.join('\n')).not.toContain(secret);
    expect(problems[0]).toMatch(/^JWT_SECRET = \(value hidden\) must be at least 32 characters/);
    const dbProblems = problemsOf({ DATABASE_URL: 'postgres://user:hunter2@db:notaport/x' });
    expect(dbProblems.join('\n')).not.toContain('hunter2');
  });

  it('names every DPoD variable a command needs when none is set', () => {
    const config = loadConfig({});
    let problems: readonly string[] = [];
    try {
      assertDpodConfigured(config, 'by `dpod-audit ingest`');
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems = err.problems;
    }
    expect(problems).toEqual([
      'DPOD_API_URL is required by `dpod-audit ingest` (example: DPOD_API_URL=https://acme.eu.market.dpondemand.io)',
      'DPOD_TOKEN_URL is required by `dpod-audit ingest` (example: DPOD_TOKEN_URL=https://access.dpondemand.io/oauth/v1/token)',
      'DPOD_CLIENT_ID is required by `dpod-audit ingest` (example: DPOD_CLIENT_ID=a1b2c3d4-0000-4000-8000-000000000001)',
      'DPOD_CLIENT_SECRET is required by `dpod-audit ingest` (example: DPOD_CLIENT_SECRET=(your platform client secret))',
    ]);
    const connected = loadConfig({
      DPOD_API_URL: 'http://127.0.0.1:4010',
      DPOD_TOKEN_URL: 'http://127.0.0.1:4010/oauth/token',
      DPOD_CLIENT_ID: 'sim-client',
      DPOD_CLIENT_SECRET: 'sim-secret',
    });
    expect(() => assertDpodConfigured(connected, 'by `dpod-audit ingest`')).not.toThrow();
  });

  it('refuses two JWT key sources at once', () => {
    const problems = problemsOf({
      AUTH_MODE: 'jwt',
      JWT_SECRET: 'x'.repeat(40),
      JWT_JWKS_URL: 'https://idp/jwks',
      JWT_ISSUER: 'i',
      JWT_AUDIENCE: 'a',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^JWT_JWKS_URL = "https:\/\/idp\/jwks" cannot be combined with JWT_SECRET/),
    ]);
  });
});

describe('variables the program does not read', () => {
  const collect = (env: Record<string, string>) => {
    const lines: string[] = [];
    const config = loadConfig(env, { warn: (line) => lines.push(line) });
    return { lines, config };
  };

  it('warns once each about unknown names with its prefixes, suggesting a near known name, and loads anyway', () => {
    const { lines, config } = collect({
      DPOD_CLIENT_SECERT: 'hunter2-secret',
      RETENTION_DAY: '30',
      JWT_ISSUR: 'https://idp/',
      DATABASE_RAED_URL: 'postgres://reader@replica/db',
      dpod_api_url: 'https://acme.eu.market.dpondemand.io',
      INGEST_INTERVAL: '30',
      AUTH_PROVIDER: 'okta',
      // Not ours: other prefixes, and the variables Kubernetes sets for a Service named "database".
      LOG_LEVL: 'debug',
      HOME: '/root',
      DATABASE_SERVICE_HOST: '10.0.0.7',
      DATABASE_SERVICE_PORT: '5432',
      DATABASE_PORT: 'tcp://10.0.0.7:5432',
      DATABASE_PORT_5432_TCP_ADDR: '10.0.0.7',
    });
    expect(lines).toEqual([
      'warning: AUTH_PROVIDER is set but not read by this program; ignored',
      'warning: DATABASE_RAED_URL is set but not read by this program; ignored (did you mean DATABASE_READ_URL?)',
      'warning: DPOD_CLIENT_SECERT is set but not read by this program; ignored (did you mean DPOD_CLIENT_SECRET?)',
      'warning: INGEST_INTERVAL is set but not read by this program; ignored (did you mean INGEST_INTERVAL_SECONDS?)',
      'warning: JWT_ISSUR is set but not read by this program; ignored (did you mean JWT_ISSUER?)',
      'warning: RETENTION_DAY is set but not read by this program; ignored (did you mean RETENTION_DAYS?)',
      'warning: dpod_api_url is set but not read by this program; ignored (did you mean DPOD_API_URL?)',
    ]);
    expect(lines.join('\n')).not.toContain('hunter2');
    expect(config.ingest.retentionDays).toBe(400);
    expect(config.dpod.clientSecret).toBeUndefined();
  });

  it('says nothing about the variables it reads', () => {
    expect(
      collect({
        DATABASE_URL: 'postgres://u@db/x',
        DATABASE_READ_URL: 'postgres://u@r/x',
        RETENTION_DAYS: '30',
        AUTH_MODE: 'none',
      }).lines,
    ).toEqual([]);
  });
});
