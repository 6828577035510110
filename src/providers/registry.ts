/**
 * Picks the validator from the stored API shape. The shape decides path and mapping; the
 * endpoint's auth scheme decides the header, so custom providers can mix the two.
 */
import { anthropicValidator } from './anthropic';
import { geminiValidator } from './gemini';
import { openAIValidator } from './openai';
import { openRouterValidator } from './openrouter';
import type { ApiShape, KeyTestResult, KeyValidator, ProviderEndpoint, ValidateOptions } from './types';
import { sanitizeResult } from './untrusted';

const VALIDATORS: Record<ApiShape, KeyValidator> = {
  OPENAI: openAIValidator,
  ANTHROPIC: anthropicValidator,
  GEMINI: geminiValidator,
  OPENROUTER: openRouterValidator,
};

export function validatorFor(shape: ApiShape): KeyValidator {
  // Shapes come from database rows, so the type alone does not guarantee a known value.
  const validator = Object.prototype.hasOwnProperty.call(VALIDATORS, shape) ? VALIDATORS[shape] : undefined;
  if (!validator) throw new Error(`No key validator for API shape "${String(shape)}".`);
  return validator;
}

/**
 * The only way outcomes leave the provider layer (validation jobs, testProviderKey, re-checks):
 * whatever the validator made of the answer is scrubbed against the key it was given.
 */
export async function testKey(endpoint: ProviderEndpoint, secret: string, options: ValidateOptions): Promise<KeyTestResult> {
  const result = await validatorFor(endpoint.apiShape)(endpoint, secret, options);
  return sanitizeResult(result, secret);
}
