/**
 * Generates the pinned vectors of what `seal` writes now (format v1, algorithm 2) into
 * test/vectors/v1-alg2.json. Run once per format version or algorithm
 * (`npx tsx packages/envelope/scripts/generate-vectors.ts`); never regenerate an existing file:
 * the point of the vectors is that old ciphertexts keep decrypting. test/vectors/v1.json holds
 * algorithm 1's, written by this script before algorithm 2 (its Cyrillic context key predates the
 * context-key rule, which `open` still accepts).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateTenantKey, seal, type Context } from '../src/index.js';

const target = fileURLToPath(new URL('../test/vectors/v1-alg2.json', import.meta.url));
if (existsSync(target) && !process.argv.includes('--force')) {
  console.error(`${target} exists; pinned vectors must not change`);
  process.exit(1);
}

const cases: { name: string; tenantId: string; tkVersion: number; context?: Context; plaintext: Buffer }[] = [
  { name: 'empty plaintext, no context', tenantId: 'tenant-1', tkVersion: 1, plaintext: Buffer.alloc(0) },
  {
    name: 'short text with context',
    tenantId: 'acme',
    tkVersion: 3,
    context: { table: 'customers', column: 'ssn', row: '42' },
    plaintext: Buffer.from('123-45-6789'),
  },
  {
    name: 'unicode tenant and context, binary plaintext',
    tenantId: 'tenant-é-😀',
    tkVersion: 4294967295,
    context: { 'ns:key': 'значение', purpose: 'ai-provider-key' },
    plaintext: Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff)),
  },
  {
    name: 'one block boundary',
    tenantId: '00000000-0000-4000-8000-000000000000',
    tkVersion: 0,
    context: {},
    plaintext: Buffer.alloc(16, 0xaa),
  },
];

const vectors = cases.map((c) => {
  const tenantKey = generateTenantKey();
  const ciphertext = seal(tenantKey, c.plaintext, {
    tenantId: c.tenantId,
    tkVersion: c.tkVersion,
    context: c.context,
  });
  return {
    name: c.name,
    tenantKey: tenantKey.toString('hex'),
    tenantId: c.tenantId,
    tkVersion: c.tkVersion,
    ...(c.context ? { context: c.context } : {}),
    plaintext: c.plaintext.toString('hex'),
    ciphertext: ciphertext.toString('base64url'),
  };
});
writeFileSync(target, JSON.stringify({ format: 'byok-envelope-v1', vectors }, null, 2) + '\n');
console.log(`wrote ${vectors.length} vectors to ${target}`);
