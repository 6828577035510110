import { probePortsFromEnv } from '../config';

/**
 * The image's HEALTHCHECK: exit 0 when this container's process answers /healthz. The same image
 * runs the API (PORT) or a worker (/healthz next to its metrics, WORKER_METRICS_PORT), so either
 * answering is healthy. Loopback only, two short requests, no dependency beyond Node itself.
 * Readiness (PostgreSQL and the queue store reachable) is /readyz, for orchestrators that route traffic.
 */
async function main(): Promise<number> {
  const ports = probePortsFromEnv();
  for (const port of [ports.api, ports.worker]) {
    if (port === 0) continue;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return 0;
    } catch {
      // not this one: try the other
    }
  }
  return 1;
}

main().then(
  (code) => process.exit(code),
  () => process.exit(1),
);
