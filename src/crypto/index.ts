// The only entry point to Keyplane's crypto: import from 'src/crypto', never from its files.
export { KeyringError, parseKeyring, parseCurrentVersion, formatKeyring, generateKeyMaterial, type Keyring } from './keyring';
export { SecretBox, DecryptError, KeyVersionUnavailableError, type SealContext, type Sealed } from './secret-box';
export { SEALS, SEAL_KINDS, type SealKind, type SealRef } from './seal-catalogue';
export { Fingerprinter, normalizeSecret } from './fingerprint';
export { redactSecret, redactToken, scrubText, MIN_CHARS_FOR_TAIL, REDACTED } from './redact';
export { generateToken, hashToken, safeEqual, type TokenPrefix } from './tokens';
export { AuditSigner, verifyAuditSignature, type AuditPublicKey } from './audit-signing';
