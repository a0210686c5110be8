import { describe, expect, it } from '@jest/globals';
import { InvalidKeyRefError, KmsError } from './errors.js';
import { checkKeyRefInput, ownKeyRef } from './key-ref.js';
import { hclString, shellQuote } from './onboarding-format.js';

describe('checkKeyRefInput', () => {
  it('accepts a plain reference', () => {
    expect(() => checkKeyRefInput('p', 'local:x')).not.toThrow();
  });
  it.each([
    ['an empty string', ''],
    ['surrounding spaces', ' local:x'],
    ['more than 2048 characters', `x${'y'.repeat(2048)}`],
    ['a non-string', 42],
  ])('rejects %s', (_what, input) => {
    expect(() => checkKeyRefInput('p', input)).toThrow(InvalidKeyRefError);
  });
});

describe('ownKeyRef', () => {
  it('returns a reference of its own provider and refuses another as KMS_MISCONFIGURED', () => {
    const mine = { provider: 'a', uri: 'a:1' };
    expect(ownKeyRef('a', mine, 'wrap')).toBe(mine);
    expect(() => ownKeyRef('a', { provider: 'b', uri: 'b:1' }, 'wrap')).toThrow(
      expect.objectContaining({ code: 'KMS_MISCONFIGURED', operation: 'wrap', keyRef: 'b:1' }),
    );
    expect(() => ownKeyRef('a', { provider: 'b', uri: 'b:1' }, 'wrap')).toThrow(KmsError);
  });
});

describe('onboarding formatting', () => {
  it('shell-quotes so a quote cannot end the argument', () => {
    expect(shellQuote("evil'; rm -rf /")).toBe(`'evil'\\''; rm -rf /'`);
  });
  it('HCL-quotes so a value cannot end the string or start an interpolation', () => {
    expect(hclString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(hclString('${file("/etc/passwd")}')).toBe('"$${file(\\"/etc/passwd\\")}"');
    expect(hclString('%{ if true }')).toBe('"%%{ if true }"');
  });
});
