// The only entry point to Keyplane's crypto: import from 'src/crypto', never from its files.
export { KeyringError, parseKeyring, parseCurrentVersion, formatKeyring, generateKeyMaterial, type Keyring } from './keyring';
export { SecretBox, DecryptError, KeyVersionUnavailableError, KekUnavailableError, type SealContext, type Sealed } from './secret-box';
export { KekRing, LocalKekProvider, type KekProvider } from './kek';
export { kekRingFrom, parsePkcs11KeyLabels, type KekSettings } from './kek-config';
export { Pkcs11KekProvider, Pkcs11SetupError, type Pkcs11Settings } from './pkcs11/pkcs11-kek-provider';
export { SecretText } from './secret-text';
export { SEALS, SEAL_KINDS, type SealKind, type SealRef } from './seal-catalogue';
export { Fingerprinter, PepperRingError, normalizeSecret, parsePepperRing } from './fingerprint';
export { redactSecret, redactToken, scrubText, MIN_CHARS_FOR_TAIL, REDACTED } from './redact';
export { generateToken, hashToken, safeEqual, type TokenPrefix } from './tokens';
export { AuditSigner, verifyAuditSignature, type AuditPublicKey } from './audit-signing';
