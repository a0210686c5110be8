import pino from 'pino';

/** The service logger type. */
export type Logger = pino.Logger;

/**
 * A JSON logger that redacts anything that could carry a secret even if a caller slips:
 * auth headers, request bodies and fields named like values or keys.
 */
export function createLogger(level: pino.LevelWithSilent, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'byok-keyservice' },
      redact: {
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          'authorization',
          'token',
          'plaintext',
          'value',
          'body',
          '*.token',
          '*.plaintext',
          '*.value',
          '*.body',
          '*.key',
          '*.secret',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
