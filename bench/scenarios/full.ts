import { gql } from '../harness/db';
import { startHello } from '../harness/keyplane';
import { seededTenantId } from '../harness/seed-million';
import type { Scenario } from './context';
import { duplicateAlert } from './duplicate-alert';
import { againstHello, LIST } from './graphql-http';
import { keyRewrapMillion, pepperRekeyMillion } from './key-custody';
import { ensureMillion, MILLION, SEED_TENANTS } from './million';
import { rotationSweep } from './rotation-sweep';
import { replicaReads, scaleValidation } from './scale';

/** The credentials list again, for a tenant among a million stored keys: the indexes must keep it flat. */
const listAmongMillion: Scenario = {
  id: 'list-1m',
  full: true,
  async run(ctx) {
    await ensureMillion(ctx);
    const tenantId = await seededTenantId(ctx.pool, 1);
    const t = await gql(
      ctx.api.url,
      ctx.adminToken,
      'mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token userErrors { code } } }',
      {
        i: { tenantId, name: 'bench list', role: 'VIEWER' },
      },
    );
    const hello = await startHello();
    try {
      return [
        await againstHello(ctx, hello, {
          id: 'list-1m',
          title: `credentials(tenantId, first: 50), tenant with ${MILLION / SEED_TENANTS} of ${MILLION.toLocaleString('en-US')} credentials`,
          token: t.createApiToken.token,
          query: LIST,
          variables: { t: tenantId },
          target: 0.5,
        }),
      ];
    } finally {
      await hello.child.stop();
    }
  },
};

/**
 * The million-row figures (--full), after the quick set. The key-custody ones last: they move every
 * record to KEK 3 and pepper 2, which processes started later would not hold.
 */
export const FULL_SCENARIOS: Scenario[] = [
  listAmongMillion,
  duplicateAlert,
  rotationSweep,
  scaleValidation,
  replicaReads,
  keyRewrapMillion,
  pepperRekeyMillion,
];
