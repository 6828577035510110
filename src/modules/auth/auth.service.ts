import type { DataSource } from 'typeorm';
import { hashToken, safeEqual } from '../../crypto';
import { AccessError } from '../../errors';
import type { Actor } from './actor';

const LAST_USED_RESOLUTION_MS = 60_000;

/** Resolves the bearer token once per request. Revocation takes effect on the next request. */
export class AuthService {
  constructor(
    private readonly db: DataSource,
    private readonly adminToken: string,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** null when no credentials were sent; AccessError when some were sent and are not valid. */
  async authenticate(authorization: string | undefined): Promise<Actor | null> {
    if (!authorization) return null;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw new AccessError('UNAUTHENTICATED', 'Send "Authorization: Bearer <token>".');
    const token = match[1];
    if (safeEqual(token, this.adminToken)) {
      return { type: 'PLATFORM_ADMIN', id: 'platform-admin', tenantId: null, role: 'PLATFORM_ADMIN', name: 'platform admin' };
    }
    if (token.startsWith('kp_')) {
      const rows: { id: string; tenant_id: string; role: 'ADMIN' | 'VIEWER'; name: string; last_used_at: Date | null }[] =
        await this.db.query(
          'SELECT id, tenant_id, role, name, last_used_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL',
          [hashToken(token)],
        );
      const row = rows[0];
      if (row) {
        this.touch(row.id, row.last_used_at);
        return { type: 'API_TOKEN', id: row.id, tenantId: row.tenant_id, role: row.role, name: row.name };
      }
    }
    throw new AccessError('UNAUTHENTICATED', 'The token is not valid.');
  }

  /** last_used_at at minute resolution, off the request path: a write per request would cost more than it tells. */
  private touch(id: string, lastUsedAt: Date | null): void {
    if (lastUsedAt && Date.now() - lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
    this.db.query('UPDATE api_tokens SET last_used_at = now() WHERE id = $1', [id]).catch(this.onError);
  }
}
