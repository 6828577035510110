#!/usr/bin/env node
/*
 * Creates a KEK in a PKCS#11 token: a non-extractable, sensitive AES-256 secret key object that may
 * only encrypt and decrypt (docs/operations.md "Move the master key to an HSM").
 *
 *   KEYPLANE_PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so KEYPLANE_PKCS11_TOKEN_LABEL=keyplane \
 *   KEYPLANE_PKCS11_PIN_FILE=/run/secrets/hsm-pin node scripts/pkcs11-create-kek.js --label keyplane-kek-2
 *
 * Refuses when a secret key with the label exists already. Prints the label only. The test harness
 * runs it in a child process too, so a test's own use of the module never shares its state with it.
 * --extractable exists for the test that proves Keyplane refuses such a key.
 */
'use strict';
const fs = require('node:fs');

function fail(message) {
  process.stderr.write(`pkcs11-create-kek: ${message}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
const labelAt = args.indexOf('--label');
const label = labelAt === -1 ? undefined : args[labelAt + 1];
const extractable = args.includes('--extractable');
if (!label) fail('usage: pkcs11-create-kek.js --label LABEL');
const modulePath = process.env.KEYPLANE_PKCS11_MODULE;
const tokenLabel = process.env.KEYPLANE_PKCS11_TOKEN_LABEL;
if (!modulePath || !tokenLabel) fail('KEYPLANE_PKCS11_MODULE and KEYPLANE_PKCS11_TOKEN_LABEL are required');
const pin = process.env.KEYPLANE_PKCS11_PIN_FILE
  ? fs.readFileSync(process.env.KEYPLANE_PKCS11_PIN_FILE, 'utf8').replace(/\r?\n$/, '')
  : process.env.KEYPLANE_PKCS11_PIN;
if (!pin) fail('KEYPLANE_PKCS11_PIN or KEYPLANE_PKCS11_PIN_FILE is required');

const ck = require('pkcs11js');
const p = new ck.PKCS11();
p.load(modulePath);
p.C_Initialize({ flags: ck.CKF_OS_LOCKING_OK });
try {
  const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === tokenLabel);
  if (!slot) fail(`no token labelled ${JSON.stringify(tokenLabel)}`);
  const session = p.C_OpenSession(slot, ck.CKF_SERIAL_SESSION | ck.CKF_RW_SESSION);
  try {
    p.C_Login(session, ck.CKU_USER, pin);
  } catch (error) {
    fail(`login refused (${String(error.message).split(/\s/)[0]})`);
  }
  p.C_FindObjectsInit(session, [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_LABEL, value: label },
  ]);
  const existing = p.C_FindObjects(session, 1);
  p.C_FindObjectsFinal(session);
  if (existing.length > 0) fail(`a secret key labelled ${JSON.stringify(label)} exists already`);
  p.C_GenerateKey(session, { mechanism: ck.CKM_AES_KEY_GEN }, [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
    { type: ck.CKA_VALUE_LEN, value: 32 },
    { type: ck.CKA_LABEL, value: label },
    { type: ck.CKA_TOKEN, value: true },
    { type: ck.CKA_PRIVATE, value: true },
    { type: ck.CKA_SENSITIVE, value: !extractable },
    { type: ck.CKA_EXTRACTABLE, value: extractable },
    { type: ck.CKA_ENCRYPT, value: true },
    { type: ck.CKA_DECRYPT, value: true },
    { type: ck.CKA_WRAP, value: false },
    { type: ck.CKA_UNWRAP, value: false },
    { type: ck.CKA_SIGN, value: false },
    { type: ck.CKA_VERIFY, value: false },
    { type: ck.CKA_DERIVE, value: false },
  ]);
  p.C_Logout(session);
  p.C_CloseSession(session);
  process.stdout.write(`created ${label}\n`);
} finally {
  p.C_Finalize();
}
