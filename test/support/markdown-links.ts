import { posix } from 'node:path';

/** One relative link of a markdown text: `[text](target)` as written, and its 1-based line. */
export interface MarkdownLink {
  text: string;
  target: string;
  line: number;
}

/** The text of a markdown file by its path from the repository root, or undefined when there is no such file. */
export type ReadDocument = (path: string) => string | undefined;

/** Whether a path from the repository root names an existing file or directory. */
export type PathExists = (path: string) => boolean;

/** The markdown text with fenced code blocks blanked out line by line, so line numbers stay right. */
function withoutFences(markdown: string): string[] {
  let fence: string | null = null;
  return markdown.split('\n').map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === null && marker !== undefined) {
      fence = marker;
      return '';
    }
    if (fence !== null) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = null;
      return '';
    }
    return line;
  });
}

/** GitHub's anchor for a heading text: lower case, punctuation but hyphens and underscores dropped, spaces to hyphens. */
export function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link or image keeps its text
    .replace(/<[^>]+>/g, '') // inline HTML tags
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** Every anchor the headings of a markdown text define, in GitHub's way: a repeated slug gets -1, -2, ... */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(markdown)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = githubSlug(heading);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Every inline link of a markdown text outside code that is relative (not `scheme:` nor `//host`). */
export function relativeLinks(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  withoutFences(markdown).forEach((raw, index) => {
    const line = raw.replace(/(`+)[^`]*?\1/g, (span) => ' '.repeat(span.length)); // code spans hold no links
    for (const match of line.matchAll(/!?\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = match[2] ?? '';
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue;
      links.push({ text: match[1] ?? '', target, line: index + 1 });
    }
  });
  return links;
}

/**
 * The broken relative links of one markdown file (`file` is its path from the repository root), each as
 * "file:line: [text](target): why". A link is broken when its file does not exist, or when it has an anchor
 * that no heading of the target markdown file defines.
 */
export function brokenLinks(file: string, markdown: string, read: ReadDocument, exists: PathExists): string[] {
  const problems: string[] = [];
  for (const { text, target, line } of relativeLinks(markdown)) {
    const where = `${file}:${line}: [${text}](${target})`;
    const hash = target.indexOf('#');
    const pathPart = hash === -1 ? target : target.slice(0, hash);
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const path = pathPart === '' ? file : posix.normalize(posix.join(posix.dirname(file), decodeURI(pathPart)));
    if (path.startsWith('../') || !exists(path)) {
      problems.push(`${where}: no file ${path}`);
      continue;
    }
    if (anchor === undefined) continue;
    const content = path === file ? markdown : read(path);
    if (content === undefined || !path.endsWith('.md')) {
      problems.push(`${where}: ${path} is not a markdown file, so it has no heading #${anchor}`);
      continue;
    }
    if (!headingAnchors(content).has(anchor)) problems.push(`${where}: ${path} has no heading #${anchor}`);
  }
  return problems;
}
