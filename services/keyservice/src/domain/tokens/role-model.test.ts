import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { ACTIONS, isAllowed, renderRoleTable, ROLE_TABLE } from './role-model.js';

const README = new URL('../../../../../README.md', import.meta.url);

/** Table rows as trimmed cells, so the comparison ignores prettier's column padding. */
const cells = (table: string) =>
  table
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[\s:|-]+\|$/.test(l))
    .map((l) =>
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );

describe('the role table', () => {
  it('is the table the README shows', () => {
    const text = readFileSync(README, 'utf8');
    const m = /<!-- role-table:begin -->([\s\S]*?)<!-- role-table:end -->/.exec(text);
    expect(m).not.toBeNull();
    expect(cells(m![1]!)).toEqual(cells(renderRoleTable()));
  });

  it('never lets a platform admin decrypt, reveal, use secrets, or set a CMK or policy', () => {
    for (const a of [
      'encrypt',
      'decrypt',
      'secret.reveal',
      'secret.write',
      'cmk.write',
      'policy.write',
    ] as const)
      expect({ a, ok: isAllowed({ role: 'platform-admin', tenantId: null }, a, 'acme') }).toEqual({
        a,
        ok: false,
      });
  });

  it('never lets a tenant admin issue a service token or reveal', () => {
    const ta = { role: 'tenant-admin', tenantId: 'acme' } as const;
    expect(isAllowed(ta, 'token.create.service', 'acme')).toBe(false);
    expect(isAllowed(ta, 'secret.reveal', 'acme')).toBe(false);
    expect(isAllowed(ta, 'decrypt', 'acme')).toBe(false);
  });

  it('scopes tenant roles to their own tenant and a global auditor to every tenant', () => {
    expect(isAllowed({ role: 'service', tenantId: 'acme' }, 'decrypt', 'acme')).toBe(true);
    expect(isAllowed({ role: 'service', tenantId: 'acme' }, 'decrypt', 'globex')).toBe(false);
    expect(isAllowed({ role: 'tenant-admin', tenantId: 'acme' }, 'cmk.write', 'globex')).toBe(false);
    expect(isAllowed({ role: 'auditor', tenantId: 'acme' }, 'audit.read', 'globex')).toBe(false);
    expect(isAllowed({ role: 'auditor', tenantId: null }, 'audit.read', 'globex')).toBe(true);
    expect(isAllowed({ role: 'auditor', tenantId: null }, 'secret.list', 'globex')).toBe(false);
  });

  it('gives platform actions only to principals without a tenant', () => {
    for (const a of ACTIONS.filter((x) => ROLE_TABLE[x].scope === 'platform'))
      expect(isAllowed({ role: 'tenant-admin', tenantId: 'acme' }, a, null)).toBe(false);
  });
});
