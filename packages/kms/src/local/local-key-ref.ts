import { InvalidKeyRefError } from '../errors.js';
import { checkKeyRefInput } from '../key-ref.js';
import type { KeyRefBase } from '../provider-module.js';

/** Name of the development-only local provider. */
export const LOCAL_PROVIDER = 'local';

/** Development-only key held by the local provider: `local:{name}`. */
export interface LocalKeyRef extends KeyRefBase {
  readonly provider: 'local';
  readonly name: string;
}

const LOCAL_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** Parses `local:NAME`, throwing {@link InvalidKeyRefError} with a clear reason. */
export function parseLocalKeyRef(input: string): LocalKeyRef {
  checkKeyRefInput(LOCAL_PROVIDER, input);
  const name = input.startsWith('local:') ? input.slice('local:'.length) : '';
  if (!LOCAL_NAME.test(name)) {
    throw new InvalidKeyRefError(
      LOCAL_PROVIDER,
      input,
      'expected local:NAME with NAME of 1-64 letters, digits, dots, dashes or underscores',
    );
  }
  return { provider: LOCAL_PROVIDER, uri: `local:${name}`, name };
}
