#!/usr/bin/env node
/**
 * For moving documentation between files: fails when a heading of the old file (e.g. the README
 * before it was split into docs/) has no heading with the same anchor in any Markdown file now, so
 * no section is lost on the way. A heading merged into another on purpose is passed with --merged.
 * Usage: node scripts/check-doc-headings.mjs <old.md> [--merged="Heading A" --merged="Heading B"]
 *   e.g. node scripts/check-doc-headings.mjs <(git show <commit>:README.md)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { anchorsOf, slug } from './check-doc-links.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [oldFile, ...flags] = process.argv.slice(2);
if (!oldFile) {
  process.stderr.write('usage: node scripts/check-doc-headings.mjs <old.md> [--merged="Heading"]...\n');
  process.exit(2);
}
const merged = new Set(flags.filter((f) => f.startsWith('--merged=')).map((f) => slug(f.slice('--merged='.length))));

let fence = null;
const headings = [];
for (const line of readFileSync(oldFile, 'utf8').split('\n')) {
  const f = /^\s*(`{3,}|~{3,})/.exec(line);
  if (f) {
    if (fence === null) fence = f[1][0];
    else if (f[1][0] === fence) fence = null;
    continue;
  }
  const h = fence === null && /^#{1,6}\s+(.*?)\s*$/.exec(line);
  if (h) headings.push(h[1]);
}

const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', '*.md'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean)
  .map((f) => resolve(root, f));
const where = new Map();
for (const file of files) for (const anchor of anchorsOf(file)) if (!where.has(anchor)) where.set(anchor, file.slice(root.length + 1));

const missing = [];
for (const heading of headings) {
  const anchor = slug(heading);
  if (where.has(anchor)) process.stdout.write(`${heading}  ->  ${where.get(anchor)}\n`);
  else if (merged.has(anchor)) process.stdout.write(`${heading}  ->  merged on purpose\n`);
  else missing.push(heading);
}
if (missing.length > 0) {
  process.stderr.write(`no heading for: ${missing.map((h) => JSON.stringify(h)).join(', ')}\n`);
  process.exit(1);
}
process.stdout.write(`all ${headings.length} headings of ${oldFile} are in the Markdown files now\n`);
