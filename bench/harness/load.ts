import autocannon from 'autocannon';
import type { Child } from './proc';
import { rssPeak, sleep } from './proc';
import { summarize, type RunResult, type Summary } from './stats';

/** One HTTP load: what to send, and how to tell a good answer from a bad one. */
export interface HttpLoad {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Called per request to vary it (unique labels and keys); returns the body to send. */
  nextBody?: () => string;
  /** Whether a response counts as a success; GraphQL answers 200 even with errors, so look inside. */
  ok: (status: number, body: string) => boolean;
  connections: number;
  /** Requests per second over all connections (open loop at a fixed rate); unset: as fast as answered. */
  overallRate?: number;
}

/** One timed run with autocannon from this process against a server in another process. */
export async function httpRun(load: HttpLoad, seconds: number, target: Child): Promise<RunResult> {
  let good = 0;
  let bad = 0;
  const peak = rssPeak(target.pid);
  const result = await autocannon({
    url: load.url,
    connections: load.connections,
    duration: seconds,
    ...(load.overallRate ? { overallRate: load.overallRate } : {}),
    requests: [
      {
        method: load.method ?? 'GET',
        headers: load.headers,
        body: load.body,
        // autocannon calls setupRequest whenever the key is present, even when it is undefined.
        ...(load.nextBody ? { setupRequest: (request: autocannon.Request) => ({ ...request, body: load.nextBody!() }) } : {}),
        onResponse: (status, body) => {
          if (load.ok(status, body)) good++;
          else bad++;
        },
      },
    ],
  });
  const peakRssMb = peak.stop();
  target.assertAlive();
  return {
    rate: good / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: good,
    failed: bad + result.errors,
    peakRssMb,
  };
}

export interface Side {
  /** A run of the given length; the process measured is whatever the run reports on. */
  run: (seconds: number) => Promise<RunResult>;
}

/**
 * Warm-up for both sides, then alternating runs (baseline, subject, baseline, ...), so a noisy
 * neighbour slows both sides alike and the ratio holds.
 */
export async function compare(
  subject: Side,
  baseline: Side,
  o: { warmupS: number; runS: number; runs: number; log: (m: string) => void },
): Promise<{ subject: Summary; baseline: Summary; ratio: number }> {
  await baseline.run(o.warmupS);
  await subject.run(o.warmupS);
  const s: RunResult[] = [];
  const b: RunResult[] = [];
  for (let i = 0; i < o.runs; i++) {
    b.push(await baseline.run(o.runS));
    await sleep(200);
    s.push(await subject.run(o.runS));
    await sleep(200);
    o.log(`  run ${i + 1}/${o.runs}: ${s[i].rate.toFixed(0)}/s vs baseline ${b[i].rate.toFixed(0)}/s`);
  }
  const subjectSummary = summarize(s);
  const baselineSummary = summarize(b);
  return { subject: subjectSummary, baseline: baselineSummary, ratio: subjectSummary.rate / baselineSummary.rate };
}

export const httpSide = (load: HttpLoad, target: Child): Side => ({ run: (s) => httpRun(load, s, target) });

/** The GraphQL POST every scenario sends: JSON, which also satisfies Apollo's CSRF prevention. */
export function graphqlLoad(
  url: string,
  token: string | null,
  query: string,
  variables: Record<string, unknown> | (() => Record<string, unknown>),
  connections: number,
  ok: (body: string) => boolean = (body) => !body.includes('"errors"'),
): HttpLoad {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const encode = (v: Record<string, unknown>) => JSON.stringify({ query, variables: v });
  return {
    url,
    method: 'POST',
    headers,
    body: typeof variables === 'function' ? encode(variables()) : encode(variables),
    nextBody: typeof variables === 'function' ? () => encode(variables()) : undefined,
    ok: (status, body) => status === 200 && ok(body),
    connections,
  };
}
