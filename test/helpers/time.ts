/**
 * Lets wall-clock time pass, for tests of time itself: a TTL or a grace period running out, or
 * proof that nothing happens within a window. Never a way to wait for something to happen: poll
 * for that (`eventually` in test-worker.ts, `waitFor` in e2e-support.ts).
 */
export function letTimePass(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
