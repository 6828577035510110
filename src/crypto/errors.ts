/** The only error `open`/`rewrap` throw for bad data: one fixed message, no cause, so nothing about the input leaks. */
export class DecryptError extends Error {
  override readonly name: string = 'DecryptError';
  readonly code: string = 'DECRYPT_FAILED';
  constructor() {
    super('secret could not be decrypted');
  }
}

/**
 * The record is sealed under a KEK version this process's keyring lacks. Not tampering and not
 * transient in the usual sense: nothing opens it until the keyring gains the version, so callers
 * answer SERVICE_UNAVAILABLE (API) or stop at once (workers) instead of retrying or marking the
 * record unreadable. A DecryptError, so code that only knows "does not open" still fails closed.
 */
export class KeyVersionUnavailableError extends DecryptError {
  override readonly name: string = 'KeyVersionUnavailableError';
  override readonly code: string = 'KEK_VERSION_UNAVAILABLE';
  constructor(readonly kekVersion: number) {
    super();
    this.message = `sealed under key version ${kekVersion}, which is not in this process's keyring`;
  }
}

/**
 * The version is configured but its key cannot be used right now: the HSM (or a remote KMS) is
 * unreachable, logged out, or lost the key object. Transient: it is a KeyVersionUnavailableError,
 * so every caller that must not mark a record unreadable already leaves it alone and the API
 * answers SERVICE_UNAVAILABLE; workers retry it later without spending an attempt (workers/worker.ts).
 * `reason` names the condition (a PKCS#11 return code such as CKR_DEVICE_REMOVED), never a PIN or bytes.
 */
export class KekUnavailableError extends KeyVersionUnavailableError {
  override readonly name: string = 'KekUnavailableError';
  override readonly code: string = 'KEK_UNAVAILABLE';
  constructor(
    kekVersion: number,
    readonly provider: string,
    readonly reason: string,
  ) {
    super(kekVersion);
    this.message = `key version ${kekVersion} (${provider}) is unavailable: ${reason}`;
  }
}
