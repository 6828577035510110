const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * The token of an `Authorization: Bearer <token>` value, or null when it has another shape. The one
 * parser for API tokens, ops tokens and gateway keys, so every surface accepts the same headers.
 */
export function bearerToken(authorization: string | undefined): string | null {
  return BEARER.exec(authorization ?? '')?.[1] ?? null;
}
