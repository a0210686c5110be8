import type { SecretKind } from '@byok/contract';
import { anthropicProvider } from './anthropic-provider.js';
import { azureOpenaiProvider } from './azure-openai-provider.js';
import { googleProvider } from './google-provider.js';
import { openaiProvider } from './openai-provider.js';
import type { AiProviderModule } from './provider-module.js';

export { aiMethodOf, type AiMethod, type AiProviderModule, type AiRoute } from './provider-module.js';

/** THE list of AI providers the gateway speaks, by secret kind. */
export const AI_PROVIDERS: Readonly<Partial<Record<SecretKind, AiProviderModule>>> = {
  openai: openaiProvider,
  anthropic: anthropicProvider,
  google: googleProvider,
  'azure-openai': azureOpenaiProvider,
};

/** The provider module of a secret kind, or undefined for a kind that is not an AI key. */
export function aiProviderOf(kind: string): AiProviderModule | undefined {
  return Object.hasOwn(AI_PROVIDERS, kind) ? AI_PROVIDERS[kind as SecretKind] : undefined;
}

/** Every header some provider's SDK puts its API key in: the service token may arrive in any. */
export const CALLER_CREDENTIAL_HEADERS: readonly string[] = [
  ...new Set(Object.values(AI_PROVIDERS).map((p) => p.callerCredentialHeader)),
];
