import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { RESULTS_DIR, ROOT } from './env';
import type { Summary } from './stats';

export interface Target {
  label: string;
  /** null when the figure could not be measured. */
  met: boolean | null;
}

/** One row of the results table. Never holds a made-up number: unmeasured rows carry a note instead. */
export interface Figure {
  id: string;
  title: string;
  status: 'measured' | 'not-measurable' | 'error';
  note?: string;
  /** 'req/s', 'jobs/s', or for single timings 's' / 'ms' / 'MB'. */
  unit: string;
  subject?: Summary;
  baselineTitle?: string;
  baseline?: Summary;
  ratio?: number;
  /** For figures that are one value (idle RSS, sweep duration), not a rate. */
  value?: number;
  baselineValue?: number;
  targets: Target[];
}

const n0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
const n1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
const mb = (v: number | null | undefined) => (v == null ? '' : `${Math.round(v)} MB`);

function rate(s: Summary | undefined, unit: string): string {
  if (!s) return '';
  return `${n0(s.rate)} ${unit} (${n0(s.rateMin)}–${n0(s.rateMax)})${s.failed ? `, ${s.failed} failed` : ''}`;
}
const lat = (s: Summary | undefined) => (s && Number.isFinite(s.p99) ? `${n1(s.p50)} / ${n1(s.p99)}` : '');

function single(f: Figure, v: number | undefined): string {
  return v === undefined ? '' : `${f.unit === 'MB' ? Math.round(v) : n1(v)} ${f.unit}`;
}

function verdict(f: Figure): string {
  if (f.targets.length === 0) return '';
  return f.targets.map((t) => `${t.label} ${t.met === null ? '–' : t.met ? 'met' : 'MISSED'}`).join('; ');
}

/** A Markdown table, so the same text goes to the terminal and into the README. */
export function table(figures: Figure[]): string {
  const head = ['Figure', 'Keyplane', 'p50 / p99 ms', 'peak RSS', 'Baseline', 'p50 / p99 ms', 'Ratio', 'Target'];
  const rows = figures.map((f) => {
    if (f.status !== 'measured')
      return [f.title, f.status === 'error' ? `ERROR: ${f.note}` : (f.note ?? 'not measurable'), '', '', '', '', '', verdict(f)];
    const isRate = f.subject !== undefined && f.unit.endsWith('/s');
    return [
      f.title,
      isRate ? rate(f.subject, f.unit) : single(f, f.value),
      lat(f.subject),
      mb(f.subject?.peakRssMb),
      isRate
        ? `${f.baselineTitle}: ${rate(f.baseline, f.unit)}`
        : f.baselineTitle
          ? `${f.baselineTitle}${f.baselineValue !== undefined ? `: ${single(f, f.baselineValue)}` : ''}`
          : '—',
      lat(f.baseline),
      f.ratio === undefined ? '' : `${f.ratio.toFixed(2)}x`,
      verdict(f),
    ];
  });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function machine(): Record<string, unknown> {
  let commit: string | null = null;
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    // Read-only git: which code was measured, and whether it had uncommitted changes.
    commit = git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? ' + uncommitted changes' : '');
  } catch {
    commit = null;
  }
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    commit,
  };
}

export function describeMachine(m: Record<string, unknown>): string {
  return `${m.cpus} vCPU (${m.cpuModel}), ${m.memoryGb} GB RAM, Node ${m.node}, ${m.platform}, commit ${m.commit ?? 'unknown'}`;
}

export function writeResults(figures: Figure[], meta: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = resolve(RESULTS_DIR, 'latest.json');
  writeFileSync(file, JSON.stringify({ ...meta, figures }, null, 2) + '\n');
  return file;
}
