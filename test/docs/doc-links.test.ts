import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { brokenLinks, githubSlug, headingAnchors, relativeLinks } from '../support/markdown-links';

const root = join(__dirname, '..', '..');

/** README.md and every markdown page under docs/, as posix paths from the repository root. */
const documents = [
  'README.md',
  ...readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.md'))
    .map((file) => `docs/${file.split('\\').join('/')}`),
].sort();

const readDocument = (path: string) =>
  existsSync(join(root, path)) ? readFileSync(join(root, path), 'utf8') : undefined;
const pathExists = (path: string) => existsSync(join(root, path));

describe('links in README.md and docs/', () => {
  it('finds the README and the docs pages, and links between them', () => {
    expect(documents).toEqual(expect.arrayContaining(['README.md', 'docs/README.md', 'docs/graphql.md']));
    const links = documents.flatMap((file) => relativeLinks(readFileSync(join(root, file), 'utf8')));
    expect(links.length).toBeGreaterThan(30);
    expect(links.filter((link) => link.target.includes('#')).length).toBeGreaterThan(10);
  });

  it('resolves every relative link and anchor', () => {
    const problems = documents.flatMap((file) =>
      brokenLinks(file, readFileSync(join(root, file), 'utf8'), readDocument, pathExists),
    );
    expect(problems).toEqual([]);
  });

  it('links every docs page from the docs index', () => {
    const index = relativeLinks(readFileSync(join(root, 'docs', 'README.md'), 'utf8')).map((l) => `docs/${l.target}`);
    const pages = documents.filter((file) => file.startsWith('docs/') && file !== 'docs/README.md');
    expect(pages.filter((page) => !index.includes(page))).toEqual([]);
  });
});

describe('the link checker', () => {
  const guide = [
    '# Guide',
    '## Set up: the `DATABASE_URL` (and more)',
    '## Set up: the `DATABASE_URL` (and more)',
    '```sh',
    '# not a heading',
    'see [inside a fence](missing.md)',
    '```',
    'Back to [the top](#guide), [the second](#set-up-the-database_url-and-more-1) and',
    '[the readme](../README.md#start), [the site](https://example.com/x#y), [mail](mailto:a@b.c),',
    '`[in a code span](nowhere.md)` and [a file](../src/app.ts).',
    'Broken: [no page](other.md), [no heading](#not-here), [no heading there](../README.md#finish),',
    '[a fence heading](#not-a-heading), [an anchor into code](../src/app.ts#L1).',
  ].join('\n');
  const pages: Record<string, string> = { 'docs/guide.md': guide, 'README.md': '# Project\n\n## Start\n' };
  const read = (path: string) => pages[path];
  const exists = (path: string) => path in pages || path === 'src/app.ts';

  it('makes GitHub slugs of headings, numbering repeats', () => {
    expect(githubSlug('Set up: the `DATABASE_URL` (and more)')).toBe('set-up-the-database_url-and-more');
    expect(githubSlug("The demo's and the tests' PostgreSQL")).toBe('the-demos-and-the-tests-postgresql');
    expect(githubSlug('Past one PostgreSQL: distribute `audit_events` (e.g. Citus)')).toBe(
      'past-one-postgresql-distribute-audit_events-eg-citus',
    );
    expect([...headingAnchors(guide)]).toEqual([
      'guide',
      'set-up-the-database_url-and-more',
      'set-up-the-database_url-and-more-1',
    ]);
  });

  it('names the file, line and link of each broken link, and only those', () => {
    expect(brokenLinks('docs/guide.md', guide, read, exists)).toEqual([
      'docs/guide.md:11: [no page](other.md): no file docs/other.md',
      'docs/guide.md:11: [no heading](#not-here): docs/guide.md has no heading #not-here',
      'docs/guide.md:11: [no heading there](../README.md#finish): README.md has no heading #finish',
      'docs/guide.md:12: [a fence heading](#not-a-heading): docs/guide.md has no heading #not-a-heading',
      'docs/guide.md:12: [an anchor into code](../src/app.ts#L1): src/app.ts is not a markdown file, so it has no heading #L1',
    ]);
  });

  it('finds nothing wrong in a page whose links all resolve', () => {
    expect(
      brokenLinks('README.md', '[guide](docs/guide.md#guide) and [here](#start)\n\n## Start\n', read, exists),
    ).toEqual([]);
  });
});
