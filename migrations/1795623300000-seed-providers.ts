import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The built-in provider catalog. Patterns are deliberately lenient (the live call decides); a too
 * strict rule is fixed with upsertProvider at run time, not with a release.
 */
const PROVIDERS = [
  ['openai', 'OpenAI', 'https://api.openai.com', 'BEARER', 'OPENAI', ['sk-proj-', 'sk-svcacct-', 'sk-admin-', 'sk-'], '^sk-[A-Za-z0-9_-]{20,}$'],
  [
    'anthropic',
    'Anthropic',
    'https://api.anthropic.com',
    'X_API_KEY',
    'ANTHROPIC',
    ['sk-ant-api03-', 'sk-ant-admin01-', 'sk-ant-oat01-', 'sk-ant-'],
    '^sk-ant-[a-z]+[0-9]*-[A-Za-z0-9_-]{20,}$',
  ],
  ['google-gemini', 'Google Gemini', 'https://generativelanguage.googleapis.com', 'X_GOOG_API_KEY', 'GEMINI', ['AIza'], '^AIza[0-9A-Za-z_-]{35}$'],
  ['groq', 'Groq', 'https://api.groq.com/openai', 'BEARER', 'OPENAI', ['gsk_'], '^gsk_[A-Za-z0-9]{20,}$'],
  ['mistral', 'Mistral', 'https://api.mistral.ai', 'BEARER', 'OPENAI', [], '^[A-Za-z0-9]{20,}$'],
  ['openrouter', 'OpenRouter', 'https://openrouter.ai', 'BEARER', 'OPENROUTER', ['sk-or-v1-'], '^sk-or-v1-[a-f0-9]{64}$'],
  ['xai', 'xAI', 'https://api.x.ai', 'BEARER', 'OPENAI', ['xai-'], '^xai-[A-Za-z0-9]{20,}$'],
] as const;

export class SeedProviders1795623300000 implements MigrationInterface {
  name = 'SeedProviders1795623300000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    for (const [slug, name, baseUrl, authScheme, apiShape, prefixes, pattern] of PROVIDERS) {
      await queryRunner.query(
        `INSERT INTO "providers" ("slug", "name", "base_url", "auth_scheme", "api_shape", "key_prefixes", "key_pattern", "built_in")
         VALUES ($1, $2, $3, $4, $5, $6, $7, true)
         ON CONFLICT ("slug") DO NOTHING`,
        [slug, name, baseUrl, authScheme, apiShape, [...prefixes], pattern],
      );
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `DELETE FROM "providers" WHERE "built_in" AND "slug" = ANY($1)
         AND NOT EXISTS (SELECT 1 FROM "credentials" c WHERE c."provider_id" = "providers"."id")`,
      [PROVIDERS.map((p) => p[0])],
    );
  }
}
