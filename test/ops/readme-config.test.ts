import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config';

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

/** One row of the README's Configuration table: its variable names and their literal defaults (if any). */
interface DocumentedRow {
  names: string[];
  defaults: string[];
}

function configurationTable(): DocumentedRow[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Configuration\n'));
  if (!section) throw new Error('README.md has no "## Configuration" section');
  const rows = section.split('\n').filter((line) => /^\| `[A-Z_]+`/.test(line));
  const codeSpans = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  return rows.map((line) => {
    const [, names, defaults] = line.split('|').map((c) => c.trim());
    // A literal default is a cell of code spans only (`4000` / `0.0.0.0`); "(= `DATABASE_URL`)" or "—" is none.
    const literal = /^`[^`]+`( \/ `[^`]+`)*$/.test(defaults!);
    return { names: codeSpans(names!), defaults: literal ? codeSpans(defaults!) : [] };
  });
}

/** A valid environment that sets `name` to something other than its default (extra variables when it needs them). */
function otherValue(name: string, value: string): Record<string, string> {
  if (/^\d+$/.test(value)) return { [name]: String(Number(value) + 1) };
  const others: Record<string, Record<string, string>> = {
    HOST: { HOST: '127.0.0.1' },
    LOG_LEVEL: { LOG_LEVEL: 'debug' },
    INTROSPECTION: { INTROSPECTION: 'false' },
    GRAPHQL_FAST_LANE: { GRAPHQL_FAST_LANE: 'false' },
    DETECT_RULES: { DETECT_RULES: 'none' },
    AUTH_MODE: {
      AUTH_MODE: 'jwt',
      JWT_SECRET: 'x'.repeat(32),
      JWT_ISSUER: 'https://idp.example.com/',
      JWT_AUDIENCE: 'dpod-audit',
    },
  };
  const env = others[name];
  if (!env) throw new Error(`no other value known for ${name}=${value}: extend otherValue()`);
  return env;
}

describe("README's Configuration table", () => {
  const rows = configurationTable();
  const documented = rows.flatMap((r) => r.names);

  it('lists every variable src/config.ts reads, and only those', () => {
    expect(documented.length).toBeGreaterThan(20);
    expect([...documented].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it('gives each literal default exactly as the program applies it', () => {
    const withDefaults = rows.filter((r) => r.defaults.length > 0);
    expect(withDefaults.length).toBeGreaterThan(10);
    const unset = loadConfig({});
    for (const { names, defaults } of withDefaults) {
      // `PORT` / `HOST` | `4000` / `0.0.0.0`: one default per name, in order.
      expect({ names, defaults: defaults.length }).toEqual({ names, defaults: names.length });
      names.forEach((name, i) => {
        const value = defaults[i]!;
        // Setting the documented default changes nothing; setting another value changes something,
        // so the variable is really read and the default is really the one applied.
        expect({ name, value, same: loadConfig({ [name]: value }) }).toEqual({ name, value, same: unset });
        expect({ name, value, differs: loadConfig(otherValue(name, value)) }).not.toEqual({
          name,
          value,
          differs: unset,
        });
      });
    }
  });

  it('documents the variables without a literal default as unset by default', () => {
    const unset = loadConfig({});
    const optional = rows.filter((r) => r.defaults.length === 0).flatMap((r) => r.names);
    expect([...optional].sort()).toEqual([
      'CORS_ORIGINS',
      'DATABASE_READ_URL',
      'DATABASE_URL',
      'DPOD_API_URL',
      'DPOD_CLIENT_ID',
      'DPOD_CLIENT_SECRET',
      'DPOD_TOKEN_URL',
      'EMBEDDED_PG_DIR',
      'EXPORT_LINK_SECRET',
      'INTEGRITY_SIGNING_KEY',
      'JWT_AUDIENCE',
      'JWT_ISSUER',
      'JWT_JWKS_URL',
      'JWT_SECRET',
      'LOG_FORMAT',
      'WEBHOOK_SECRET',
      'WEBHOOK_URLS',
    ]);
    expect(unset.databaseUrl).toBeUndefined();
    // Unset, the format follows stderr: pretty on a terminal, JSON lines otherwise.
    expect(unset.logFormat).toBeUndefined();
    expect(unset.databaseReadUrl).toBeUndefined();
    expect(unset.dpod).toMatchObject({
      apiUrl: undefined,
      tokenUrl: undefined,
      clientId: undefined,
      clientSecret: undefined,
    });
    expect(unset.auth).toMatchObject({
      jwtSecret: undefined,
      jwksUrl: undefined,
      issuer: undefined,
      audience: undefined,
    });
    expect(unset.embeddedPgDir).toBeUndefined();
    expect(unset.http.corsOrigins).toEqual([]);
  });
});
