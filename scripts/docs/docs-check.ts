import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import GithubSlugger from 'github-slugger';
import { lexer, type Token, type Tokens, walkTokens } from 'marked';

/**
 * The docs check: every relative link and #anchor of README.md and docs/*.md resolves (anchors
 * as GitHub slugs them), and the fenced blocks a page marks ```` ```sh runnable ```` can be run.
 * Markdown is read with `marked`'s lexer, so links inside code are not links.
 */

/** A fence info string that marks a block as quick, side-effect-free commands the check runs. */
export const RUNNABLE = /^(sh|bash)\s+runnable$/;

/**
 * Pages other branches are writing in parallel: links to them are accepted while they are
 * missing. Empty this list once they are merged.
 */
export const COMING_PAGES: readonly string[] = [];

export interface DocLink {
  /** The page the link is on, relative to the repository root. */
  from: string;
  href: string;
}

export interface RunnableBlock {
  from: string;
  code: string;
}

export interface ParsedDoc {
  anchors: Set<string>;
  links: DocLink[];
  runnable: RunnableBlock[];
}

/** README.md and every page under docs/, relative to `root`. */
export function docFiles(root: string): string[] {
  const docs = join(root, 'docs');
  const pages = existsSync(docs)
    ? readdirSync(docs)
        .filter((f) => f.endsWith('.md'))
        .sort()
        .map((f) => `docs/${f}`)
    : [];
  return ['README.md', ...pages];
}

/** A heading's text as GitHub renders it before slugging (no backticks, emphasis or link syntax). */
function plainText(tokens: Token[] | undefined, raw: string): string {
  if (!tokens) return raw;
  return tokens
    .map((t) => ('tokens' in t && t.tokens ? plainText(t.tokens, '') : 'text' in t ? String(t.text) : ''))
    .join('');
}

/** Anchors, links and runnable blocks of one markdown text. */
export function parseDoc(from: string, markdown: string): ParsedDoc {
  const tokens = lexer(markdown);
  const slugger = new GithubSlugger();
  const doc: ParsedDoc = { anchors: new Set(), links: [], runnable: [] };
  walkTokens(tokens, (t) => {
    if (t.type === 'heading') {
      const h = t as Tokens.Heading;
      doc.anchors.add(slugger.slug(plainText(h.tokens, h.text)));
    } else if (t.type === 'link' || t.type === 'image') {
      doc.links.push({ from, href: (t as Tokens.Link).href });
    } else if (t.type === 'code') {
      const c = t as Tokens.Code;
      if (RUNNABLE.test((c.lang ?? '').trim())) doc.runnable.push({ from, code: c.text });
    }
  });
  return doc;
}

/** Whether `href` points outside the repository (a URL or a scheme). */
function isExternal(href: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//');
}

/** Every relative link of `files` that does not resolve, with the reason. */
export function brokenLinks(root: string, files: string[]): string[] {
  const parsed = new Map(files.map((f) => [f, parseDoc(f, readFileSync(join(root, f), 'utf8'))]));
  const anchorsOf = (page: string): Set<string> | undefined => {
    if (!parsed.has(page) && existsSync(join(root, page)) && page.endsWith('.md'))
      parsed.set(page, parseDoc(page, readFileSync(join(root, page), 'utf8')));
    return parsed.get(page)?.anchors;
  };
  const broken: string[] = [];
  for (const [from, doc] of [...parsed]) {
    for (const { href } of doc.links) {
      if (isExternal(href)) continue;
      const [pathPart = '', anchor] = href.split('#', 2);
      const target =
        pathPart === '' ? from : relative(root, resolve(root, dirname(from), decodeURI(pathPart)));
      const exists = existsSync(join(root, target));
      if (!exists) {
        if (!COMING_PAGES.includes(target)) broken.push(`${from}: ${href} (no file ${target})`);
        continue;
      }
      if (anchor === undefined || statSync(join(root, target)).isDirectory()) continue;
      if (!target.endsWith('.md')) {
        broken.push(`${from}: ${href} (an anchor into a file that is not markdown)`);
        continue;
      }
      if (!anchorsOf(target)?.has(anchor))
        broken.push(`${from}: ${href} (no heading #${anchor} in ${target})`);
    }
  }
  return broken;
}

/** Every block of `files` marked runnable, in page order. */
export function runnableBlocks(root: string, files: string[]): RunnableBlock[] {
  return files.flatMap((f) => parseDoc(f, readFileSync(join(root, f), 'utf8')).runnable);
}
