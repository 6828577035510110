/**
 * Key prefixes that only one vendor issues (from the vendors' own docs). A key carrying one of
 * them is that vendor's key whatever a provider row's format rule says, so it is never stored
 * under, or sent to, another provider. This is a fact about vendors, not deployment data, so it
 * lives in code; the per-provider format rules stay in the database.
 *
 * Not listed on purpose: OpenAI's legacy bare `sk-` (every other `sk-` family shares it) and
 * Mistral (its keys have no prefix).
 */
export interface VendorPrefixes {
  vendor: string;
  prefixes: readonly string[];
}

export const VENDOR_PREFIXES: readonly VendorPrefixes[] = [
  { vendor: 'OpenAI', prefixes: ['sk-proj-', 'sk-svcacct-', 'sk-admin-'] },
  // api03 (API keys), admin01 (Admin API), oat01 (OAuth tokens) all share sk-ant-.
  { vendor: 'Anthropic', prefixes: ['sk-ant-'] },
  { vendor: 'Google Gemini', prefixes: ['AIza'] },
  { vendor: 'Groq', prefixes: ['gsk_'] },
  { vendor: 'OpenRouter', prefixes: ['sk-or-'] },
  { vendor: 'xAI', prefixes: ['xai-'] },
];

export interface VendorMatch {
  vendor: string;
  /** The table's prefix the key starts with (public: it is shown in every hint anyway). */
  prefix: string;
}

/** The vendor whose distinctive prefix the key carries, or null. */
export function vendorOfKey(secret: string): VendorMatch | null {
  let best: VendorMatch | null = null;
  for (const { vendor, prefixes } of VENDOR_PREFIXES) {
    for (const prefix of prefixes) {
      if (secret.startsWith(prefix) && (!best || prefix.length > best.prefix.length)) best = { vendor, prefix };
    }
  }
  return best;
}

/**
 * Whether a provider row declares itself a holder of this vendor's keys: one of its own public
 * prefixes is (or extends) one of the vendor's. The built-in rows do (openai lists sk-proj-), and so
 * can a platform admin's custom row for a proxy of that vendor; a row declaring nothing, or only the
 * shared `sk-`, holds no vendor's keys.
 */
export function declaresVendor(keyPrefixes: readonly string[], vendor: string): boolean {
  const entry = VENDOR_PREFIXES.find((v) => v.vendor === vendor);
  return !!entry && keyPrefixes.some((own) => entry.prefixes.some((p) => own.startsWith(p)));
}
