import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(__dirname, '../../..');
const SCANNED = ['src', 'workers', 'migrations', 'scripts'];
const SOURCE = /\.(ts|js)$/;

/** Every .ts and .js file under the scanned folders, as paths relative to the repository. */
function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return SOURCE.test(name) && !name.endsWith('.d.ts') ? [relative(ROOT, path)] : [];
  });
}

/** A relative specifier as the compiler (moduleResolution node) finds it; null for packages and non-code files. */
function resolveRelative(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = resolve(ROOT, dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, `${base}.js`, join(base, 'index.ts'), join(base, 'index.js')]) {
    if (existsSync(candidate) && statSync(candidate).isFile() && SOURCE.test(candidate)) return relative(ROOT, candidate);
  }
  return null;
}

/**
 * Edges for every import, export … from, require() and import() of each file. Type-only imports
 * count: they are erased at run time, but a type cycle still ties two modules into one unit that
 * cannot be understood, tested or moved apart, which is what this check is for.
 */
function importGraph(files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
    const targets = importedFiles.map((f) => resolveRelative(file, f.fileName)).filter((t): t is string => t !== null);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Tarjan's strongly connected components: each one of more than one file, or a file importing itself, is a cycle. */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found;
}

const graph = importGraph(SCANNED.flatMap((dir) => sourceFiles(join(ROOT, dir))));

describe('import graph (src, workers, migrations, scripts)', () => {
  it('reads the whole code base', () => {
    // A glob or resolution mistake would make every check below pass vacuously.
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('workers/main.ts')).toEqual(expect.arrayContaining(['src/db/data-source.ts', 'workers/worker.ts']));
  });

  it('has no import cycle', () => {
    expect(cycles(graph).map((component) => component.join(' <-> '))).toEqual([]);
  });

  it('the worker reaches nothing of the HTTP server, not even through another module', () => {
    const reached = new Set<string>();
    const walk = (file: string) => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const next of graph.get(file) ?? []) walk(next);
    };
    walk('workers/main.ts');
    expect([...reached].filter((file) => file.startsWith('src/http/')).sort()).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    const withCycle = new Map(graph);
    withCycle.set('src/config.ts', [...(graph.get('src/config.ts') ?? []), 'workers/main.ts']);
    expect(cycles(withCycle).some((component) => component.includes('src/config.ts') && component.includes('workers/main.ts'))).toBe(true);
    expect(cycles(new Map([['a.ts', ['a.ts']]]))).toEqual([['a.ts']]);
  });
});
