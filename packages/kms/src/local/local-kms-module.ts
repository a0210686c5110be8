import { join } from 'node:path';
import { z } from 'zod';
import type { KmsProviderModule } from '../provider-module.js';
import { FileLocalKeyStore } from './local-key-store.js';
import { LOCAL_PROVIDER, parseLocalKeyRef, type LocalKeyRef } from './local-key-ref.js';
import { createLocalKmsProvider } from './local-kms-provider.js';

/** The local provider reads no settings of its own: its keys live under the service's data dir. */
const LocalConfigSchema = z.object({});

/** Settings of the local provider (none). */
export type LocalKmsConfig = z.infer<typeof LocalConfigSchema>;

/**
 * The development-only local KMS as a provider module: keys in `DATA_DIR/local-kms.json`, refused
 * in production, no onboarding grant (there is no customer side to grant on).
 */
export const localKmsModule = {
  name: LOCAL_PROVIDER,
  title: 'Local development KMS',
  keyRefFormat: 'local:NAME',
  developmentOnly: true,
  parseKeyRef: parseLocalKeyRef,
  configSchema: LocalConfigSchema,
  create: (_config: LocalKmsConfig, ctx) =>
    createLocalKmsProvider({
      store: new FileLocalKeyStore(join(ctx.dataDir, 'local-kms.json')),
      production: ctx.production,
    }),
  health: true,
} satisfies KmsProviderModule<LocalKeyRef, LocalKmsConfig>;
