import { z } from 'zod';
import { EmbeddedPostgresEnv, Env } from '../../../src/config';
import { renderConfigDocs, settingsOf } from '../../../scripts/emit-config-docs';

describe('the configuration reference (docs/configuration.md)', () => {
  it('renders name, type, default, range, secrecy and description from the schema alone', () => {
    const main = z.object({
      POOL: z.coerce.number().int().min(1).max(200).default(10).describe('Connections per process.'),
      TOKEN: z.string().min(32).optional().meta({ secret: true }).describe('A bearer token.'),
      MODE: z.enum(['a', 'b']).default('a').describe('Which mode | one of two.'),
      FLAG: z.enum(['true', 'false']).default('false').describe('A switch.'),
      BARE: z.string().default(''),
    });
    const text = renderConfigDocs({ main, embedded: z.object({}) });
    expect(text).toContain('| `POOL` | integer | `10` | 1–200 | no | Connections per process. |');
    expect(text).toContain('| `TOKEN` | string | unset | at least 32 characters | yes | A bearer token. |');
    // A pipe in a description would end the table cell.
    expect(text).toContain('| `MODE` | enum | `a` | `a`, `b` | no | Which mode \\| one of two. |');
    expect(text).toContain('| `FLAG` | boolean | `false` | `true`, `false` | no | A switch. |');
    expect(text).toContain('| `BARE` | string | empty | — | no | **Not described yet.** |');
    expect(renderConfigDocs({ main, embedded: z.object({}) })).toBe(text);
  });

  it('describes every variable that src/config.ts reads', () => {
    const undescribed = [...settingsOf(Env), ...settingsOf(EmbeddedPostgresEnv)].filter((s) => !s.description).map((s) => s.name);
    expect(undescribed).toEqual([]);
    const text = renderConfigDocs({ main: Env, embedded: EmbeddedPostgresEnv });
    for (const name of [...Object.keys(Env.shape), ...Object.keys(EmbeddedPostgresEnv.shape)]) expect(text).toContain(`| \`${name}\` |`);
  });

  it('marks secrets and values that hold one', () => {
    const secrets = settingsOf(Env)
      .filter((s) => s.secret === 'yes')
      .map((s) => s.name);
    expect(secrets).toEqual(
      expect.arrayContaining([
        'KEYPLANE_ADMIN_TOKEN',
        'KEYPLANE_MASTER_KEYS',
        'KEYPLANE_FINGERPRINT_KEY',
        'KEYPLANE_AUDIT_SIGNING_KEYS',
        'KEYPLANE_PKCS11_PIN',
      ]),
    );
    expect(settingsOf(Env).find((s) => s.name === 'DATABASE_URL')?.secret).toBe('no (a password in it is)');
  });
});
