import 'reflect-metadata';
import { auditSigner, type Config } from '../config';
import { createDataSource } from '../db/data-source';
import { loadConfigOrExit } from '../lifecycle';
import type { IntegrityReport } from '../modules/audit/audit-integrity';
import { AuditIntegrityService } from '../modules/audit/audit-integrity.service';

/*
 * The audit trail from a shell (docs/audit.md):
 *   npm run audit -- verify [--tenant ID]   every chain (the platform's and each tenant's), or one
 *   npm run audit -- checkpoint             sign the head of every chain that moved, now
 * In a built image: node dist/src/cli/audit.js <command>. Reads the same environment as the API.
 * Exit codes: 0 all intact, 2 a chain is broken, 1 an error, 64 usage.
 */

const USAGE = 'usage: audit verify [--tenant ID] | audit checkpoint';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function runAuditCli(argv: string[], config: Readonly<Config>, out: (line: string) => void): Promise<number> {
  const [command, ...rest] = argv;
  const tenantAt = rest.indexOf('--tenant');
  const tenant = tenantAt === -1 ? undefined : (rest[tenantAt + 1] ?? '');
  if (!['verify', 'checkpoint'].includes(command ?? '') || (tenant !== undefined && !UUID.test(tenant))) {
    out(USAGE);
    return 64; // EX_USAGE
  }
  const db = createDataSource(config.databaseUrl, 2);
  await db.initialize();
  try {
    const audit = new AuditIntegrityService(db, auditSigner(config));
    if (command === 'checkpoint') {
      const run = await audit.checkpoint();
      for (const c of run.signed) out(`signed ${c.tenantId ?? 'platform'} at seq ${c.seq} (key version ${c.keyVersion})`);
      for (const r of run.refused) out(`REFUSED ${describe(r)}`);
      out(`${run.signed.length} checkpoints signed, ${run.refused.length} chains refused`);
      return run.refused.length ? 2 : 0;
    }
    const chains = tenant ? [tenant] : await audit.chains();
    let broken = 0;
    for (const chain of chains) {
      const report = await audit.verify(chain);
      if (!report.ok) broken++;
      out(describe(report));
    }
    out(`${chains.length} chains checked, ${broken} broken`);
    return broken ? 2 : 0;
  } finally {
    await db.destroy();
  }
}

function describe(r: IntegrityReport): string {
  const name = r.tenantId ?? 'platform';
  const cp = r.lastCheckpoint ? `, last checkpoint seq ${r.lastCheckpoint.seq} signed ${r.lastCheckpoint.signedAt}` : ', no checkpoint';
  if (r.ok) return `ok ${name}: ${r.rowsChecked} rows, head seq ${r.lastSeq ?? 0}${cp}`;
  return `BROKEN ${name}: ${r.break!.kind} at seq ${r.break!.seq ?? '-'}${r.break!.eventId ? ` (event ${r.break!.eventId})` : ''}: ${r.break!.message}`;
}

if (require.main === module) {
  const config = loadConfigOrExit('keyplane-audit');
  runAuditCli(process.argv.slice(2), config, (line) => process.stdout.write(line + '\n')).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`keyplane-audit: ${error.message}\n`);
      process.exit(1);
    },
  );
}
