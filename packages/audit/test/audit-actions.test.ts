import { readFileSync } from 'node:fs';
import {
  AUDIT_ACTION_NAMES,
  AUDIT_ACTIONS,
  AuditInputError,
  DEFAULT_DETAIL_KEYS,
  assertCataloguedEvent,
  assertValidEvent,
  isAuditAction,
} from '../src/index.js';

describe('audit action catalogue', () => {
  it('names only actions the writer accepts, with detail keys the writer allows', () => {
    const allowed = new Set(DEFAULT_DETAIL_KEYS);
    for (const name of AUDIT_ACTION_NAMES) {
      const details = Object.fromEntries(AUDIT_ACTIONS[name].details.map((k) => [k, 1]));
      expect(() => assertValidEvent({ action: name, outcome: 'success', details }, allowed)).not.toThrow();
    }
  });

  it('refuses an action that is not catalogued', () => {
    expect(isAuditAction('secret.peek')).toBe(false);
    expect(() => assertCataloguedEvent('secret.peek')).toThrow(AuditInputError);
  });

  it('refuses a detail key the action does not allow, even one another action allows', () => {
    expect(() =>
      assertCataloguedEvent('secret.put', { secretVersion: 1, secretKind: 'openai' }),
    ).not.toThrow();
    expect(() => assertCataloguedEvent('secret.put', { keyVersion: 1 })).toThrow(/details\.keyVersion/);
    expect(() => assertCataloguedEvent('kms.unwrap', { itemCount: 1 })).toThrow(AuditInputError);
  });

  it('is documented: the README lists every action', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const missing = AUDIT_ACTION_NAMES.filter((name) => !readme.includes(`| \`${name}\``));
    expect(missing).toEqual([]);
  });
});
