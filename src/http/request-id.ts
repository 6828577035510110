import { randomUUID } from 'node:crypto';

const GIVEN = /^[A-Za-z0-9._-]{1,64}$/;

/** The caller's X-Request-Id when it is safe to log and echo (short, no separators), else a fresh one. */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && GIVEN.test(header) ? header : randomUUID();
}
