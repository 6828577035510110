import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Paths censored in every log line. Secrets should never reach a logger in the first place;
 * this list is the second line of defence for request objects and inputs logged by accident.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-goog-api-key"]',
  'headers.authorization',
  'authorization',
  'secret',
  'token',
  'apiKey',
  'plaintext',
  '*.secret',
  '*.token',
  '*.apiKey',
  '*.plaintext',
  'input.secret',
  'variables.input.secret',
  '*.variables.input.secret',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: process.env.KEYPLANE_SERVICE ?? 'keyplane' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
