import { inspect } from 'node:util';

/**
 * A secret setting (an HSM PIN) that cannot be printed by accident: JSON, util.inspect, template
 * strings and pino all see "[REDACTED]"; only `reveal()` gives the text, at the one place that needs it.
 */
export class SecretText {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[REDACTED]';
  }

  toJSON(): string {
    return '[REDACTED]';
  }

  [inspect.custom](): string {
    return '[REDACTED]';
  }
}
