/**
 * The real API root of each built-in provider (as seeded by migrations/1795623300000-seed-providers.ts).
 * Built-in providers are pinned to these: the API cannot repoint them, only operator configuration
 * (PROVIDER_BASE_URL_<SLUG>) can, and the API process puts a row back here when that is removed.
 */
export const BUILT_IN_HOSTS: Readonly<Record<string, string>> = Object.freeze({
  openai: 'https://api.openai.com',
  anthropic: 'https://api.anthropic.com',
  'google-gemini': 'https://generativelanguage.googleapis.com',
  groq: 'https://api.groq.com/openai',
  mistral: 'https://api.mistral.ai',
  openrouter: 'https://openrouter.ai',
  xai: 'https://api.x.ai',
});
