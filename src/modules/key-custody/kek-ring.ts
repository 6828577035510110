import type { Logger } from 'pino';
import { kekRingFrom, type KekRing, type KekSettings } from '../../crypto';
import { KeyCustodyError } from './startup-check';

/**
 * The process's KEK ring, connected and proven before anything is served: an HSM that cannot be
 * loaded, reached or logged into, or lacks a configured key, stops the start with a KeyCustodyError
 * naming the setting (never the PIN). The caller closes it on shutdown.
 */
export async function openKekRing(config: KekSettings, log: Pick<Logger, 'info'>): Promise<KekRing> {
  const ring = kekRingFrom(config);
  try {
    await ring.verify();
  } catch (error) {
    await ring.close();
    throw new KeyCustodyError((error as Error).message);
  }
  log.info(
    { kekProvider: config.kek.provider, kekVersions: ring.versions().map((version) => ({ version, provider: ring.providerOf(version) })) },
    'key encryption keys ready',
  );
  return ring;
}
