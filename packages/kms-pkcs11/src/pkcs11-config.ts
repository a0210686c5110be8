import { readFile } from 'node:fs/promises';
import { KmsError } from '@byok/kms';
import { z } from 'zod';
import { PKCS11_PROVIDER } from './pkcs11-key-ref.js';

/**
 * The settings of the PKCS#11 provider, keyed by environment variable. Every field is optional
 * here so that composing all modules' schemas never stops a service that does not use PKCS#11;
 * {@link pkcs11ModuleSettings} says which ones are missing when the provider is built.
 */
export const pkcs11ConfigSchema = z.object({
  PKCS11_MODULE: z
    .string()
    .min(1)
    .optional()
    .describe("Path of the HSM vendor's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so"),
  PKCS11_PIN_FILE: z
    .string()
    .min(1)
    .optional()
    .describe("File holding the crypto user's PIN; read once at start, never logged or shown in errors"),
  PKCS11_SESSIONS: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(4)
    .describe('PKCS#11 sessions per token: the most HSM operations in flight on one token (default 4)'),
  PKCS11_SERVICE_IDENTITY: z
    .string()
    .min(1)
    .optional()
    .describe(
      'The HSM partition user or role this service logs in as (e.g. "partition byok, Crypto User"), named in onboarding grants',
    ),
});

/** Parsed {@link pkcs11ConfigSchema}. */
export type Pkcs11Config = z.infer<typeof pkcs11ConfigSchema>;

/** What the provider needs from the config once checked: module path, PIN and pool size. */
export interface Pkcs11ModuleSettings {
  modulePath: string;
  pin: string;
  sessionsPerToken: number;
}

function missing(variable: string, why: string): KmsError {
  return new KmsError('KMS_MISCONFIGURED', `pkcs11: ${variable} is not set (${why})`, {
    provider: PKCS11_PROVIDER,
  });
}

/**
 * Checks the config and reads the PIN from `PKCS11_PIN_FILE` (one trailing newline is dropped).
 * Errors name the variable and the file, never the file's content.
 */
export async function pkcs11ModuleSettings(config: Pkcs11Config): Promise<Pkcs11ModuleSettings> {
  const modulePath = config.PKCS11_MODULE;
  const pinFile = config.PKCS11_PIN_FILE;
  if (!modulePath) throw missing('PKCS11_MODULE', "path of the HSM vendor's PKCS#11 library");
  if (!pinFile) throw missing('PKCS11_PIN_FILE', "file holding the crypto user's PIN");
  let text: string;
  try {
    text = await readFile(pinFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new KmsError('KMS_MISCONFIGURED', `pkcs11: cannot read PKCS11_PIN_FILE ${pinFile} (${code})`, {
      provider: PKCS11_PROVIDER,
    });
  }
  const pin = text.replace(/\r?\n$/, '');
  if (pin.length === 0) {
    throw new KmsError('KMS_MISCONFIGURED', `pkcs11: PKCS11_PIN_FILE ${pinFile} is empty`, {
      provider: PKCS11_PROVIDER,
    });
  }
  return { modulePath, pin, sessionsPerToken: config.PKCS11_SESSIONS };
}
