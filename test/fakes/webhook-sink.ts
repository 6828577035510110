/**
 * A real HTTP webhook receiver on loopback: scriptable statuses, redirects and hangs; records every
 * request's method, path, headers and raw body, and every TCP connection (so SSRF tests can prove
 * that no connection was made at all). Every webhook it receives (a request with a webhook-id) is
 * validated against its published JSON Schema (docs/webhooks/); close() fails the suite when any
 * did not conform, so every suite with a sink checks every body Keyplane sent it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { JobsOptions, Queue } from 'bullmq';
import type { QueueBackend } from '../../src/queue/backend';
import { DEFAULT_JOB_OPTIONS } from '../../src/queue/queues';
import type { QueueName } from '../../src/queue/registry';
import { webhookContractErrors } from '../helpers/contracts';

export type SinkResponse = { status: number; body?: string; headers?: Record<string, string> } | { hang: true };

export interface ReceivedWebhook {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** When the request arrived (epoch ms), for tests of retry timing. */
  at: number;
  /** How the body breaks its published schema (docs/webhooks/); [] when it conforms or is no webhook. */
  contractErrors: string[];
}

export interface WebhookSink {
  port: number;
  /** http://127.0.0.1:<port><path> */
  url(path?: string): string;
  requests: ReceivedWebhook[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Queue answers, consumed one per request; then the default (200). */
  script(...responses: SinkResponse[]): void;
  /** Queue answers for one path only; they win over the shared script. */
  scriptFor(path: string, ...responses: SinkResponse[]): void;
  /** The answer once the script is used up. */
  setDefault(response: SinkResponse): void;
  /** Requests to one path (tests give each gateway its own path). */
  to(path: string): ReceivedWebhook[];
  reset(): void;
  /** Every schema violation received so far, with the request's path. */
  contractViolations(): string[];
  /** Stops the receiver; rejects when a webhook it received broke its published schema. */
  close(): Promise<void>;
}

export async function startWebhookSink(): Promise<WebhookSink> {
  const requests: ReceivedWebhook[] = [];
  const sockets = new Set<Socket>();
  let script: SinkResponse[] = [];
  const byPath = new Map<string, SinkResponse[]>();
  let fallback: SinkResponse = { status: 200, body: 'ok' };
  let connections = 0;
  // Kept across reset(): a violation must fail the suite whichever test caused it.
  const violations: string[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://sink');
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({
        method: req.method ?? '',
        path: url.pathname,
        headers: req.headers,
        body,
        at: Date.now(),
        contractErrors: req.headers['webhook-id'] ? webhookContractErrors(body) : [],
      });
      violations.push(...requests[requests.length - 1].contractErrors.map((e) => `${url.pathname}: ${e}`));
      const answer = byPath.get(url.pathname)?.shift() ?? script.shift() ?? fallback;
      if ('hang' in answer) return; // never answered; close() destroys the socket
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
      res.end(answer.body ?? '');
    });
  };

  const server = createServer(handle);
  server.on('connection', (s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    port,
    url: (path = '/') => `http://127.0.0.1:${port}${path}`,
    requests,
    connections: () => connections,
    script: (...responses) => void (script = [...script, ...responses]),
    scriptFor: (path, ...responses) => void byPath.set(path, [...(byPath.get(path) ?? []), ...responses]),
    setDefault: (response) => void (fallback = response),
    to: (path) => requests.filter((r) => r.path === path),
    reset: () => {
      requests.length = 0;
      script = [];
      byPath.clear();
      fallback = { status: 200, body: 'ok' };
    },
    contractViolations: () => [...violations],
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      if (violations.length > 0) throw new Error(`webhooks that break docs/webhooks/*.schema.json:\n  ${violations.join('\n  ')}`);
    },
  };
}

/**
 * Verifies a received webhook exactly as the Standard Webhooks spec describes, written here from
 * the spec and independent of Keyplane's signer: key = base64-decode(secret without "whsec_"),
 * expected = base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)), compared against every
 * space-separated "v1,<sig>" in webhook-signature; the timestamp must be within 5 minutes.
 */
export function verifyStandardWebhook(secret: string, received: Pick<ReceivedWebhook, 'headers' | 'body'>, nowSeconds = Date.now() / 1000): boolean {
  const id = received.headers['webhook-id'];
  const timestamp = received.headers['webhook-timestamp'];
  const signatures = received.headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${received.body}`).digest();
  return signatures.split(' ').some((entry) => {
    const [version, sig] = entry.split(',');
    if (version !== 'v1' || !sig) return false;
    const given = Buffer.from(sig, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/**
 * Retry tests must not wait for production backoff (2 s, exponential): the named queues of a test
 * worker run get a short fixed backoff. The relay and the workers share `w.queues`, so jobs relayed
 * from now on use these options; the replaced producers are closed with the others.
 */
export function fastRetries(
  w: { queues: Record<string, Queue>; backend: Pick<QueueBackend, 'queue'>; replaced: Queue[] },
  names: readonly QueueName[],
  overrides: JobsOptions = {},
): void {
  for (const name of names) {
    w.replaced.push(w.queues[name]);
    w.queues[name] = w.backend.queue(name, { defaultJobOptions: { ...DEFAULT_JOB_OPTIONS, backoff: { type: 'fixed', delay: 50 }, ...overrides } });
  }
}
