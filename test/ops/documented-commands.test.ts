import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { buildProgram } from '../../src/cli';

const root = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');
const program = buildProgram();

/** One `dpod-audit <command> [--options]` as written somewhere. */
interface Invocation {
  where: string;
  command: string;
  options: string[];
}

/** The long options `command` accepts, or null when there is no such command. */
function optionsOf(command: string): string[] | null {
  const cmd = program.commands.find((c: Command) => c.name() === command);
  return cmd ? [...cmd.options.map((o) => o.long!), '--help'] : null;
}

/** README.md and every page under docs/, as paths from the repository root. */
const documents = [
  'README.md',
  ...readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.md'))
    .map((file) => join('docs', file)),
];

/** Every `dpod-audit <command> ...` in the code blocks and code spans of README.md and docs/. */
function documentedInvocations(): Invocation[] {
  const found: Invocation[] = [];
  for (const document of documents)
    found.push(...invocationsIn(read(document)).map((i) => ({ ...i, where: `${document}: ${i.where}` })));
  return found;
}

/** Every `dpod-audit <command> ...` in the code blocks and code spans of one markdown text. */
function invocationsIn(markdown: string): Invocation[] {
  const blocks = [...markdown.matchAll(/^```[a-z]*\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  const spans = [...markdown.replace(/^```[a-z]*\n[\s\S]*?^```/gm, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  const found: Invocation[] = [];
  for (const code of [...blocks, ...spans]) {
    for (const line of code.replace(/\\\n/g, ' ').split('\n')) {
      for (const m of line.matchAll(/(?<![\w-])dpod-audit\s+([a-z][\w-]*)([^#|&;]*)/g)) {
        const options = m[2]!
          .split(/\s+/)
          .map((token) => token.replace(/^\[+/, '').replace(/\]+$/, ''))
          .filter((token) => token.startsWith('--'))
          .map((token) => token.split('=')[0]!);
        found.push({ where: line.trim(), command: m[1]!, options });
      }
    }
  }
  return found;
}

/** The `command:` of every docker-compose.yml service built from this repository, and the Dockerfile's CMD. */
function deployInvocations(): Invocation[] {
  const compose = parse(read('docker-compose.yml')) as {
    services: Record<string, { build?: unknown; command?: string[] }>;
  };
  const found: Invocation[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    if (!service.build) continue;
    const [command, ...rest] = service.command ?? ['serve'];
    found.push({
      where: `docker-compose.yml ${name}`,
      command: command!,
      options: rest.filter((t) => t.startsWith('--')),
    });
  }
  const cmd = /^CMD (\[.*\])$/m.exec(read('Dockerfile'));
  if (!cmd) throw new Error('Dockerfile has no CMD');
  const [command, ...rest] = JSON.parse(cmd[1]!) as string[];
  found.push({ where: 'Dockerfile CMD', command: command!, options: rest.filter((t) => t.startsWith('--')) });
  return found;
}

describe('documented and deployed command lines', () => {
  it.each([
    ['README.md and docs/', documentedInvocations],
    ['docker-compose.yml and the Dockerfile', deployInvocations],
  ])('%s use only commands and options the CLI has', (_source, collect) => {
    const invocations = collect();
    expect(invocations.length).toBeGreaterThan(2);
    for (const { where, command, options } of invocations) {
      const known = optionsOf(command);
      expect({ where, command, known: known !== null }).toEqual({ where, command, known: true });
      for (const option of options)
        expect({ where, option, known: known!.includes(option) }).toEqual({ where, option, known: true });
    }
  });

  it('finds the invocations of every command the CLI has in README.md and docs/', () => {
    expect(documents.length).toBeGreaterThan(5);
    const documented = new Set(documentedInvocations().map((i) => i.command));
    expect([...documented].sort()).toEqual(program.commands.map((c) => c.name()).sort());
  });

  it("runs the image's entry point from the file the build writes for src/cli.ts", () => {
    const dockerfile = read('Dockerfile');
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect(entrypoint).toEqual(['node', 'dist/src/cli.js']);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; bin: Record<string, string> };
    expect(pkg.scripts.build).toMatch(/^swc src .*-d dist\b/);
    expect(existsSync(join(root, 'src', 'cli.ts'))).toBe(true);
    expect(read(pkg.bin['dpod-audit']!)).toContain("require('../dist/src/cli.js')");
  });
});
