import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Outside production a missing secret is generated once into an ignored local file, so a restart
 * keeps opening what the last run sealed. The file is private to its owner (0600).
 */
export function localSecrets<N extends string>(
  file: string,
  missing: readonly N[],
  generate: (name: N) => string,
  warn: (msg: string) => void,
): Record<string, string> {
  const path = resolve(file);
  const stored: Record<string, string> = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
  let changed = false;
  for (const name of missing) {
    if (stored[name]) continue;
    stored[name] = generate(name);
    changed = true;
  }
  if (changed) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 });
  }
  warn(
    `keyplane: ${missing.join(', ')} not set; using development values from ${path} ` +
      '(generated once, git-ignored). Set them explicitly in production.',
  );
  return stored;
}
