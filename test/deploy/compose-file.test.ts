import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from '../../src/config';
import { buildProgram } from '../../src/cli';

const root = join(__dirname, '..', '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const deploymentDoc = readFileSync(join(root, 'docs', 'deployment.md'), 'utf8');

interface Service {
  image?: string;
  build?: string | { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

// No Docker engine runs here: these checks are what can be verified without one.
describe('docker-compose.yml', () => {
  it('has postgres, the simulator, this service and Apollo Router', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['gateway', 'postgres', 'router', 'simulator']);
    expect(compose.services.router!.image).toMatch(/^ghcr\.io\/apollographql\/router:/);
    expect(compose.services.postgres!.image).toMatch(/^postgres:\d+/);
  });

  it('gives every service a healthcheck', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      // The service's name beside the check, so a failure says which service lacks one.
      expect({ name, healthcheck: (service.healthcheck?.test.length ?? 0) > 1 }).toEqual({ name, healthcheck: true });
    }
  });

  it('documents every published host port in docs/deployment.md', () => {
    for (const service of Object.values(compose.services)) {
      for (const mapping of service.ports ?? []) {
        const hostPort = mapping.split(':')[0]!;
        expect(deploymentDoc).toContain(hostPort);
      }
    }
  });

  it('references only files, volumes and services that exist', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build) {
        const context = typeof service.build === 'string' ? service.build : service.build.context;
        const dockerfile =
          typeof service.build === 'string' ? 'Dockerfile' : (service.build.dockerfile ?? 'Dockerfile');
        expect(existsSync(join(root, context, dockerfile))).toBe(true);
      }
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./'))
          expect({ name, source, exists: existsSync(join(root, source)) }).toEqual({ name, source, exists: true });
        else expect(Object.keys(compose.volumes ?? {})).toContain(source);
      }
      for (const dependency of Object.keys(service.depends_on ?? {})) {
        expect(Object.keys(compose.services)).toContain(dependency);
      }
    }
  });

  it('sets only environment variables the program reads, with valid values', () => {
    const gatewayEnv = compose.services.gateway!.environment!;
    for (const variable of Object.keys(gatewayEnv)) expect(CONFIG_VARIABLES).toContain(variable);
    // The values must pass the program's own validation.
    const { loadConfig } = jest.requireActual<typeof import('../../src/config')>('../../src/config');
    expect(() => loadConfig(gatewayEnv)).not.toThrow();
  });

  it('runs commands the CLI has', () => {
    const commands = buildProgram().commands.map((c) => c.name());
    for (const [name, service] of Object.entries(compose.services)) {
      if (!service.build) continue;
      const command = service.command?.[0] ?? 'serve';
      expect({ name, command, known: commands.includes(command) }).toEqual({ name, command, known: true });
    }
  });

  it('points the gateway at the simulator and postgres by service name', () => {
    const env = compose.services.gateway!.environment!;
    expect(new URL(env.DATABASE_URL!).hostname).toBe('postgres');
    expect(new URL(env.DPOD_API_URL!).hostname).toBe('simulator');
    expect(new URL(env.DPOD_TOKEN_URL!).pathname).toBe('/oauth/token');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  it('is multi-stage, runs as a non-root user, prunes dev dependencies and has a healthcheck', () => {
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
  });
  it('copies only paths that exist', () => {
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const path of m[1]!.split(/\s+/))
        expect({ path, exists: existsSync(join(root, path)) }).toEqual({ path, exists: true });
    }
  });
});
