import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** scripts/check-doc-links.mjs, the CI step that keeps relative links and anchors in *.md working. */
const CHECKER = resolve(__dirname, '../../../scripts/check-doc-links.mjs');

function check(files: Record<string, string>, args: string[]): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kp-links-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const run = spawnSync(process.execPath, [CHECKER, ...args.map((a) => join(dir, a))], { encoding: 'utf8' });
  return { status: run.status, out: run.stdout + run.stderr };
}

describe('the Markdown link checker', () => {
  it('accepts links to files, folders and headings, GitHub slugs and duplicate numbering included', () => {
    const { status, out } = check(
      {
        'README.md': '# Title\n[ops](docs/ops.md#pulling-the-config-get-v1gatewayconfig) [again](docs/ops.md#steps-1) [dir](docs) [self](#title)\n',
        'docs/ops.md':
          '# Ops\n## Steps\n## Steps\n## Pulling the config: `GET /v1/gateway/config`\n[back](../README.md#title) [web](https://example.com/x#y)\n',
      },
      ['README.md', 'docs/ops.md'],
    );
    expect(out).toContain('resolves');
    expect(status).toBe(0);
  });

  it('fails on a missing file or anchor, naming the file, line and target', () => {
    const { status, out } = check({ 'a.md': '# A\n\n[gone](b.md) [no anchor](#nowhere) [third](#a-2)\n## A\n' }, ['a.md']);
    expect(status).toBe(1);
    expect(out).toMatch(/a\.md:3: b\.md \(no such file\)/);
    expect(out).toMatch(/a\.md:3: #nowhere \(no heading with that anchor/);
    expect(out).toMatch(/a\.md:3: #a-2 \(no heading with that anchor/);
    expect(out).toContain('3 broken link(s)');
  });

  it('ignores links inside code blocks and code spans, and headings inside code blocks', () => {
    const fenced = '# A\n```sh\n# not-a-heading\n[x](missing.md)\n```\n`[y](missing.md)`\n[z](#not-a-heading)\n';
    const { status, out } = check({ 'a.md': fenced }, ['a.md']);
    expect(status).toBe(1);
    expect(out).toContain('#not-a-heading (no heading');
    expect(out).not.toContain('missing.md');
  });
});
