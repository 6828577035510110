import type { ProcessorDeps } from './deps';

/**
 * Tells settings pages that a credential changed, after its transaction committed. Best effort:
 * a lost live update must not fail (and so repeat) work that is already done.
 */
export async function publishCredentialChanged(deps: Pick<ProcessorDeps, 'events' | 'log'>, tenantId: string, credentialId: string): Promise<void> {
  try {
    await deps.events.publish('CREDENTIAL_CHANGED', { tenantId, credentialId });
  } catch (error) {
    deps.log.warn({ err: { name: (error as Error).name }, credentialId }, 'could not publish credential change');
  }
}
