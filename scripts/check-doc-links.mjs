#!/usr/bin/env node
/**
 * Fails when a relative link or #anchor in the repository's Markdown does not resolve: the target
 * file (or folder) must exist, and an anchor must name a heading of the target page (GitHub's slugs,
 * duplicates numbered -1, -2, ...) or an explicit <a id|name>. External links are not fetched.
 * Files: every *.md that git tracks or would track (so node_modules, dist and ignored files are out);
 * without git, every *.md outside node_modules, dist and .keyplane.
 * Usage: node scripts/check-doc-links.mjs [file.md ...]   (CI runs it without arguments)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Lines outside fenced code blocks, with their 1-based numbers. */
function proseLines(text) {
  const out = [];
  let fence = null;
  text.split('\n').forEach((line, i) => {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (fence === null) fence = m[1][0];
      else if (m[1][0] === fence) fence = null;
      return;
    }
    if (fence === null) out.push({ line, n: i + 1 });
  });
  return out;
}

/** GitHub's heading slug: the text as rendered, lower-cased, punctuation dropped, spaces to hyphens. */
export function slug(heading) {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[`*]/g, '') // code and emphasis marks
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

const anchorCache = new Map();

/** Every anchor a Markdown file defines. */
export function anchorsOf(file) {
  if (anchorCache.has(file)) return anchorCache.get(file);
  const anchors = new Set();
  const seen = new Map();
  for (const { line } of proseLines(readFileSync(file, 'utf8'))) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const base = slug(h[1]);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const a of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(a[1]);
  }
  anchorCache.set(file, anchors);
  return anchors;
}

/** Broken links of one file, as "file:line: target (why)". */
export function brokenLinks(file) {
  const problems = [];
  for (const { line, n } of proseLines(readFileSync(file, 'utf8'))) {
    const prose = line.replace(/(`+)[^`]*?\1/g, ''); // code spans are not links
    const targets = [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g), ...prose.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/g)].map(
      (m) => m[1],
    );
    for (const target of targets) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto: ...
      const hash = target.indexOf('#');
      const path = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
      const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
      const dest = path === '' ? file : resolve(dirname(file), path);
      const where = `${relative(root, file)}:${n}: ${target}`;
      if (!existsSync(dest)) {
        problems.push(`${where} (no such file)`);
        continue;
      }
      if (anchor === null || anchor === '') continue;
      if (statSync(dest).isDirectory() || !dest.endsWith('.md')) {
        problems.push(`${where} (an anchor into a file that is not Markdown)`);
        continue;
      }
      if (!anchorsOf(dest).has(anchor)) problems.push(`${where} (no heading with that anchor in ${relative(root, dest)})`);
    }
  }
  return problems;
}

const SKIP = new Set(['node_modules', 'dist', '.git', '.keyplane', 'coverage']);

/** *.md files under dir, for a checkout without git. */
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (SKIP.has(e.name)) return [];
    const path = resolve(dir, e.name);
    return e.isDirectory() ? walk(path) : e.name.endsWith('.md') ? [path] : [];
  });
}

function markdownFiles() {
  let listed;
  try {
    listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', '*.md'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return walk(root);
  }
  return [...new Set(listed.split('\n').filter(Boolean))].map((f) => resolve(root, f)).filter((f) => existsSync(f));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = process.argv.length > 2 ? process.argv.slice(2).map((f) => resolve(f)) : markdownFiles();
  const problems = files.flatMap(brokenLinks);
  if (problems.length > 0) {
    process.stderr.write(`${problems.join('\n')}\n${problems.length} broken link(s) in ${files.length} Markdown file(s)\n`);
    process.exit(1);
  }
  process.stdout.write(`links: every relative link and anchor in ${files.length} Markdown file(s) resolves\n`);
}
