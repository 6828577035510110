/**
 * Picks the validator from the stored API shape. The shape decides path and mapping; the
 * endpoint's auth scheme decides the header, so custom providers can mix the two.
 */
import { anthropicValidator } from './anthropic';
import { geminiValidator } from './gemini';
import { openAIValidator } from './openai';
import { openRouterValidator } from './openrouter';
import type { ApiShape, KeyTestResult, KeyValidator, ProviderEndpoint, ValidateOptions } from './types';

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

export function testKey(endpoint: ProviderEndpoint, secret: string, options: ValidateOptions): Promise<KeyTestResult> {
  return validatorFor(endpoint.apiShape)(endpoint, secret, options);
}
