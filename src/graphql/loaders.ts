import DataLoader from 'dataloader';
import type { Services } from '../services';
import type { CredentialEntity } from '../modules/credential/credential.entity';
import type { GatewayCredentialEntity } from '../modules/gateway/gateway.entity';
import type { ProviderEntity } from '../modules/provider/provider.entity';

/** Per-request batching; tenant-scoped loaders key on (tenantId, id) so a batch never crosses tenants. */
export interface Loaders {
  provider: DataLoader<string, ProviderEntity | null>;
  credential: (tenantId: string) => DataLoader<string, CredentialEntity | null>;
  attachments: (tenantId: string) => DataLoader<string, GatewayCredentialEntity[]>;
}

function perTenant<V>(make: (tenantId: string) => DataLoader<string, V>): (tenantId: string) => DataLoader<string, V> {
  const byTenant = new Map<string, DataLoader<string, V>>();
  return (tenantId) => {
    let loader = byTenant.get(tenantId);
    if (!loader) byTenant.set(tenantId, (loader = make(tenantId)));
    return loader;
  };
}

export type LoaderDeps = Pick<Services, 'providers' | 'credentials' | 'gatewayAttachments'>;

export function createLoaders(services: LoaderDeps): Loaders {
  return {
    provider: new DataLoader(async (ids) => {
      const rows = await services.providers.byIds(ids);
      return ids.map((id) => rows.find((p) => p.id === id) ?? null);
    }),
    credential: perTenant(
      (tenantId) =>
        new DataLoader(async (ids) => {
          const rows = await services.credentials.byIds(tenantId, ids);
          return ids.map((id) => rows.find((c) => c.id === id) ?? null);
        }),
    ),
    attachments: perTenant(
      (tenantId) =>
        new DataLoader(async (gatewayIds) => {
          const rows = await services.gatewayAttachments.list(tenantId, gatewayIds);
          return gatewayIds.map((id) => rows.filter((a) => a.gatewayId === id));
        }),
    ),
  };
}
