import { describe, expect, it } from '@jest/globals';
import { InvalidKeyRefError } from '../errors.js';
import { parseLocalKeyRef } from './local-key-ref.js';

describe('parseLocalKeyRef', () => {
  it('parses local references and rejects bad names', () => {
    expect(parseLocalKeyRef('local:dev-key_1')).toMatchObject({ provider: 'local', name: 'dev-key_1' });
    expect(() => parseLocalKeyRef('local:')).toThrow(InvalidKeyRefError);
    expect(() => parseLocalKeyRef('local:../../etc')).toThrow(InvalidKeyRefError);
    expect(() => parseLocalKeyRef(' local:x')).toThrow(InvalidKeyRefError);
  });
});
