#!/usr/bin/env node
// Verifies a Keyplane audit export offline (docs/audit.md "Offline verification"). Standalone: Node
// 18+ and nothing else, no project imports, so it can be copied and read in a few minutes.
//
//   node verify-audit-export.mjs EXPORT.ndjson [--keys KEYS.json]
//
// EXPORT.ndjson: the pages of GET /v1/audit/export, concatenated in order ("-" reads stdin).
// KEYS.json: the body of GET /v1/audit/keys, fetched once and kept; without it checkpoint
// signatures are not checked (said so in the output).
// Exit codes: 0 intact, 2 broken, 64 usage or unreadable input.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const GENESIS = '0'.repeat(64);
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

// The canonical encoding: JSON, keys sorted, no whitespace; seq a number, absent values null.
function canonical(e) {
  const head = JSON.stringify({
    action: e.action,
    actor_id: e.actorId,
    actor_type: e.actorType,
    created_at: e.createdAt,
    details: e.details,
    id: e.id,
    request_id: e.requestId,
  });
  const tail = JSON.stringify({ target_id: e.targetId, target_type: e.targetType, tenant_id: e.tenantId });
  if (!/^[1-9][0-9]*$/.test(e.seq)) throw new Error(`bad seq ${JSON.stringify(e.seq)}`);
  return `${head.slice(0, -1)},"seq":${e.seq},${tail.slice(1)}`;
}

const hashOf = (prevHash, e) =>
  createHash('sha256')
    .update(prevHash + canonical(e), 'utf8')
    .digest('hex');

const checkpointMessage = (c) => `keyplane-audit-checkpoint/v1\n${c.tenantId ?? 'platform'}\n${c.seq}\n${c.hash}\n${c.signedAt}`;

function signatureOk(keys, c) {
  const k = keys.find((x) => x.version === c.keyVersion);
  if (!k) return false;
  const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, Buffer.from(k.publicKey, 'base64')]), format: 'der', type: 'spki' });
  try {
    return verify(null, Buffer.from(checkpointMessage(c), 'utf8'), key, Buffer.from(c.signature, 'base64'));
  } catch {
    return false;
  }
}

export function verifyExport(lines, keys) {
  const events = [];
  const checkpoints = [];
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    const item = JSON.parse(line);
    if (item.type === 'event') events.push(item);
    else if (item.type === 'checkpoint') checkpoints.push(item);
    else throw new Error(`line ${i + 1}: unknown type`);
  }
  const broken = (kind, seq, message) => ({ ok: false, kind, seq: String(seq), message, events: events.length });
  const bySeq = new Map();
  let expected = events.length ? BigInt(events[0].seq) : 1n;
  let prev = events.length && expected === 1n ? GENESIS : events[0]?.prevHash;
  for (const e of events) {
    if (BigInt(e.seq) !== expected) return broken('SEQ_GAP', expected, `row ${expected} is missing (the next row is ${e.seq})`);
    if (e.prevHash !== prev) return broken('PREV_HASH_MISMATCH', e.seq, `row ${e.seq} does not follow row ${expected - 1n}`);
    if (hashOf(e.prevHash, e) !== e.hash) return broken('HASH_MISMATCH', e.seq, `row ${e.seq} was modified`);
    bySeq.set(e.seq, e);
    prev = e.hash;
    expected++;
  }
  let verified = 0;
  for (const c of checkpoints) {
    if (keys && !signatureOk(keys, c)) return broken('CHECKPOINT_SIGNATURE_INVALID', c.seq, `checkpoint at seq ${c.seq} does not verify`);
    verified++;
    const e = bySeq.get(c.seq);
    if (BigInt(c.seq) >= expected)
      return broken('TRUNCATED', expected, `rows ${expected} to ${c.seq} are missing (checkpoint signed at ${c.signedAt})`);
    if (e && e.hash !== c.hash) return broken('CHECKPOINT_MISMATCH', c.seq, `row ${c.seq} is not the row checkpointed at ${c.signedAt}`);
  }
  return {
    ok: true,
    events: events.length,
    firstSeq: events[0]?.seq ?? null,
    lastSeq: events.at(-1)?.seq ?? null,
    checkpoints: verified,
    signaturesChecked: Boolean(keys),
  };
}

function main(argv) {
  const file = argv[0];
  const keysAt = argv.indexOf('--keys');
  if (!file || (keysAt !== -1 && !argv[keysAt + 1])) {
    process.stderr.write('usage: verify-audit-export.mjs EXPORT.ndjson [--keys KEYS.json]\n');
    return 64;
  }
  let lines;
  let keys = null;
  try {
    lines = readFileSync(file === '-' ? 0 : file, 'utf8').split('\n');
    if (keysAt !== -1) keys = JSON.parse(readFileSync(argv[keysAt + 1], 'utf8')).keys;
  } catch (error) {
    process.stderr.write(`cannot read input: ${error.message}\n`);
    return 64;
  }
  const r = verifyExport(lines, keys);
  if (!r.ok) {
    process.stdout.write(`BROKEN: ${r.kind} at seq ${r.seq}: ${r.message}\n`);
    return 2;
  }
  const from = r.firstSeq && r.firstSeq !== '1' ? ` (starts at seq ${r.firstSeq}: earlier rows not checked)` : '';
  const sigs = r.signaturesChecked ? 'signatures verified' : 'signatures NOT checked (no --keys)';
  process.stdout.write(`ok: ${r.events} events, seq ${r.firstSeq ?? '-'}..${r.lastSeq ?? '-'}${from}; ${r.checkpoints} checkpoints, ${sigs}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) process.exitCode = main(process.argv.slice(2));
