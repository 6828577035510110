import 'reflect-metadata';
import type { Config } from '../config';
import { kekRingFrom, SecretBox } from '../crypto';
import { createDataSource } from '../db/data-source';
import { DomainError } from '../errors';
import { loadConfigOrExit } from '../lifecycle';
import { RescanStatusReader } from '../modules/alert/rescan-status';
import { KeyCustodyService, type RewrapStatusView } from '../modules/key-custody/key-custody.service';
import { describeCounts } from '../modules/key-custody/sealed-rows';
import { createQueueBackend } from '../queue/backend';

/*
 * Master key custody from a shell (README "Rotate the master key"):
 *   npm run keys -- status
 *   npm run keys -- rewrap [--reason TEXT] [--wait]
 *   npm run keys -- retire --version N
 * In a built image: node dist/src/cli/keys.js <command>. Reads the same environment as the API.
 * Prints versions, counts and ids only, never key material.
 */

const USAGE = 'usage: keys status | keys rewrap [--reason TEXT] [--wait] | keys retire --version N';
const CLI_ACTOR = { type: 'SYSTEM' as const, id: null, requestId: null };

export async function runKeysCli(argv: string[], config: Readonly<Config>, out: (line: string) => void): Promise<number> {
  const [command, ...rest] = argv;
  const flag = (name: string) => {
    const i = rest.indexOf(name);
    return i === -1 ? undefined : (rest[i + 1] ?? '');
  };
  if (!['status', 'rewrap', 'retire'].includes(command ?? '')) {
    out(USAGE);
    return 64; // EX_USAGE
  }
  const db = createDataSource(config.databaseUrl, 2);
  await db.initialize();
  const backend = createQueueBackend(config);
  const reader = new RescanStatusReader(backend, () => undefined);
  const custody = new KeyCustodyService(db, new SecretBox(kekRingFrom(config)), reader); // versions only: no HSM connection
  try {
    if (command === 'status') {
      const view = await custody.custody();
      out(`current key version: ${view.currentVersion}`);
      for (const v of view.versions) {
        const kinds = v.byKind.map((k) => `${k.kind} ${k.count}`).join(', ') || 'none';
        out(`version ${v.version}${v.current ? ' (current)' : ''}${v.inKeyring ? '' : ' (NOT IN KEYRING)'}: ${v.records} records (${kinds})`);
      }
      for (const r of view.runningRewraps) out(describeRun(r));
      return 0;
    }
    if (command === 'retire') {
      const text = flag('--version');
      if (!text || !/^[1-9][0-9]*$/.test(text)) {
        out(USAGE);
        return 64;
      }
      const version = Number(text);
      const check = await custody.retireCheck(version);
      if (check.current) {
        out(`refused: version ${version} is the current key version; make another version current (KEYPLANE_MASTER_KEY_CURRENT) and rewrap first.`);
        return 1;
      }
      if (!check.ok) {
        out(
          `refused: records are still sealed under version ${version} (${describeCounts(check.counts)}). Run "npm run keys -- rewrap" and wait for it to complete.`,
        );
        return 1;
      }
      out(
        `ok: no record is sealed under version ${version}. Remove "${version}:..." from KEYPLANE_MASTER_KEYS on every API and worker, ` +
          'restart them, and destroy the key material once no backup you may restore still needs it.',
      );
      return 0;
    }
    let jobId: string;
    try {
      ({ jobId } = await custody.startRewrap(CLI_ACTOR, flag('--reason') ?? null, 'cli'));
    } catch (error) {
      if (error instanceof DomainError) {
        out(`refused: ${error.message}`);
        return 1;
      }
      throw error;
    }
    out(`queued key rewrap ${jobId} (workers run it on the maintenance queue)`);
    if (!rest.includes('--wait')) return 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 2_000));
      const status = await custody.rewrapStatus(jobId);
      out(describeRun(status));
      if (status.state === 'COMPLETED') return status.failuresTotal > 0 ? 2 : 0;
      if (status.state === 'FAILED') return 1;
    }
  } finally {
    await reader.close();
    await backend.close();
    await db.destroy();
  }
}

function describeRun(r: RewrapStatusView): string {
  const sum = (f: 'scanned' | 'rewrapped' | 'alreadyCurrent' | 'failed' | 'changed') => r.counts.reduce((n, c) => n + c[f], 0);
  const failures = r.failures.map((f) => `${f.kind} ${f.id} (v${f.kekVersion}, ${f.reason})`).join(', ');
  return (
    `rewrap ${r.jobId}: ${r.state}, target version ${r.targetVersion ?? '?'}, scanned ${sum('scanned')}, rewrapped ${sum('rewrapped')}, ` +
    `already current ${sum('alreadyCurrent')}, failed ${sum('failed')}, changed meanwhile ${sum('changed')}` +
    (failures ? `; did not open: ${failures}${r.failuresTotal > r.failures.length ? ` and ${r.failuresTotal - r.failures.length} more` : ''}` : '')
  );
}

if (require.main === module) {
  const config = loadConfigOrExit('keyplane-keys');
  runKeysCli(process.argv.slice(2), config, (line) => process.stdout.write(line + '\n')).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`keyplane-keys: ${error.message}\n`);
      process.exit(1);
    },
  );
}
