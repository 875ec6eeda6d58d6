import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloGateway } from '@apollo/gateway';
import { composeSupergraph } from '../../src/graphql/federation/compose';
import { DEFAULT_SUBGRAPH, parseSubgraphArgument } from '../../src/graphql/federation/compose.command';
import { buildGraphqlSchema, printSchemaSdl } from '../../src/graphql/schema';
import { runCli } from '../support/cli';

const root = join(__dirname, '..', '..');
const fixture = (name: string) => join(__dirname, 'fixtures', name);
const SUPERGRAPH_FILE = join(root, 'deploy', 'supergraph.graphql');

describe('the committed supergraph (deploy/supergraph.graphql)', () => {
  it('is what `dpod-audit compose --out deploy/supergraph.graphql` produces now', async () => {
    const outcome = composeSupergraph([{ ...DEFAULT_SUBGRAPH, sdl: printSchemaSdl(await buildGraphqlSchema()) }]);
    expect(outcome.ok).toBe(true);
    expect(outcome.ok && outcome.supergraphSdl).toBe(readFileSync(SUPERGRAPH_FILE, 'utf8'));
  });

  it('links only the spec versions Apollo Router v2 reads, and loads in @apollo/gateway', async () => {
    const sdl = readFileSync(SUPERGRAPH_FILE, 'utf8');
    expect([...sdl.matchAll(/@link\(url: "([^"]+)"/g)].map((m) => m[1])).toEqual([
      'https://specs.apollo.dev/link/v1.0',
      'https://specs.apollo.dev/join/v0.3',
    ]);
    expect(sdl).toContain('DPOD_AUDIT @join__graph(name: "dpod-audit", url: "http://gateway:4000/graphql")');
    const gateway = new ApolloGateway({ supergraphSdl: sdl });
    const { schema } = await gateway.load();
    expect(Object.keys(schema.getQueryType()!.getFields()).sort()).toEqual([
      'auditEvent',
      'auditEvents',
      'client',
      'exportLink',
      'findings',
      'ingestRuns',
      'integrity',
      'lunaActions',
      'lunaDetectionRules',
      'service',
      'services',
    ]);
    await gateway.stop();
  });

  it('is the subgraph SDL with @key on the three entities and only @key imported', async () => {
    const sdl = printSchemaSdl(await buildGraphqlSchema());
    expect(
      sdl.startsWith('extend schema\n  @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])\n'),
    ).toBe(true);
    expect([...sdl.matchAll(/^type (\w+)\n {2}@key\(fields: "id"\)/gm)].map((m) => m[1])).toEqual([
      'AuditEvent',
      'Client',
      'Service',
    ]);
  });
});

describe('parseSubgraphArgument', () => {
  it('splits name=url=file, keeping = inside the URL', () => {
    expect(parseSubgraphArgument('inv=http://inv:4001/graphql?a=b=./inv.graphql')).toEqual({
      name: 'inv',
      url: 'http://inv:4001/graphql?a=b',
      file: './inv.graphql',
    });
    expect([
      'inv',
      'inv=x.graphql',
      '=http://a=f',
      'inv=not a url=f.graphql',
      'inv=http://a=',
      '9x=http://a=f',
    ]).toEqual(
      ['inv', 'inv=x.graphql', '=http://a=f', 'inv=not a url=f.graphql', 'inv=http://a=', '9x=http://a=f'].filter(
        (t) => parseSubgraphArgument(t) === null,
      ),
    );
  });
});

describe('dpod-audit compose', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dpod-compose-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the supergraph of this subgraph and the example key-inventory subgraph', async () => {
    const res = await runCli([
      'compose',
      `key-inventory=http://inventory:4001/graphql=${fixture('key-inventory.graphql')}`,
    ]);
    expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
    expect(res.stdout).toContain('DPOD_AUDIT @join__graph(name: "dpod-audit", url: "http://gateway:4000/graphql")');
    expect(res.stdout).toContain(
      'KEY_INVENTORY @join__graph(name: "key-inventory", url: "http://inventory:4001/graphql")',
    );
    expect(res.stdout).toMatch(
      /type Service\n {2}@join__type\(graph: DPOD_AUDIT, key: "id"\)\n {2}@join__type\(graph: KEY_INVENTORY, key: "id"\)/,
    );
    expect(res.stdout).toContain('keys: [HsmKey!]! @join__field(graph: KEY_INVENTORY)');
    const gateway = new ApolloGateway({ supergraphSdl: res.stdout });
    await expect(gateway.load()).resolves.toBeDefined();
    await gateway.stop();
  });

  it('writes --out with --name and --url', async () => {
    const out = join(dir, 'supergraph.graphql');
    const res = await runCli(['compose', '--name', 'audit', '--url', 'http://audit.internal/graphql', '--out', out]);
    expect({ code: res.code, stdout: res.stdout }).toEqual({ code: 0, stdout: '' });
    expect(res.stderr).toContain(`wrote ${out}`);
    expect(await readFile(out, 'utf8')).toContain(
      'AUDIT @join__graph(name: "audit", url: "http://audit.internal/graphql")',
    );
  });

  it('reports composition errors readably on stderr and exits 1', async () => {
    const res = await runCli(['compose', `billing=http://billing:4002/graphql=${fixture('conflicting.graphql')}`]);
    expect({ code: res.code, stdout: res.stdout }).toEqual({ code: 1, stdout: '' });
    expect(res.stderr).toMatch(/^error: composition of dpod-audit, billing failed with \d+ error\(s\):\n/);
    expect(res.stderr).toContain('[FIELD_TYPE_MISMATCH] Type of field "Service.name" is incompatible across subgraphs');
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it('reports bad usage and exits 2, writing nothing', async () => {
    const broken = join(dir, 'broken.graphql');
    await writeFile(broken, 'type Query { oops', 'utf8');
    const cases: [string[], RegExp, number][] = [
      [['compose', 'inventory.graphql'], /"inventory.graphql" is not name=url=file.graphql/, 2],
      [['compose', `x=http://x/graphql=${join(dir, 'missing.graphql')}`], /cannot read .*missing.graphql: ENOENT/, 2],
      [
        ['compose', `dpod-audit=http://x/graphql=${fixture('key-inventory.graphql')}`],
        /subgraph name "dpod-audit" is used twice/,
        2,
      ],
      [['compose', '--url', 'nope'], /--url "nope" is not a URL/, 2],
      [['compose', `x=http://x/graphql=${broken}`], /\[x\] invalid SDL: Syntax Error/, 1],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    expect(
      results.map((res, i) => ({
        args: cases[i]![0],
        code: res.code,
        stdout: res.stdout,
        matches: cases[i]![1].test(res.stderr),
      })),
    ).toEqual(cases.map(([args, , code]) => ({ args, code, stdout: '', matches: true })));
  });
});
