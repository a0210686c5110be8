import { decodeCanonicalBase64 } from '@byok/contract';
import type { ItemResult } from '../domain/crypto/crypto-service.js';
import type { ContractHandlers } from '../http/bind-operations.js';
import { actorOf, sendJson, tenantAccess, type RouteDeps } from '../http/context.js';

/** Decodes a batch item's ciphertext (one decode), or undefined when it is not canonical base64url. */
function decodeCiphertext(s: string): Buffer | undefined {
  return decodeCanonicalBase64(s, 'base64url');
}

const itemBody = <T>(r: ItemResult<Buffer>, ok: (b: Buffer) => T) =>
  r.ok
    ? { ok: true as const, ...ok(r.value) }
    : { ok: false as const, error: { code: r.error.code, detail: r.error.detail ?? r.error.code } };

/** Encrypt and decrypt, single and batch (the hot paths: pre-serialized JSON, no extra awaits). */
export function cryptoHandlers(
  deps: RouteDeps,
): ContractHandlers<'encrypt' | 'decrypt' | 'encryptBatch' | 'decryptBatch'> {
  return {
    encrypt: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'encrypt');
      const body = input.body(req);
      const plaintext = Buffer.from(body.plaintext, 'base64');
      try {
        const { ciphertext, keyVersion } = await deps.crypto.encrypt(
          view,
          actorOf(res),
          plaintext,
          body.context,
        );
        // base64url and an integer need no JSON escaping.
        sendJson(res, `{"ciphertext":"${ciphertext.toString('base64url')}","keyVersion":${keyVersion}}`);
      } finally {
        // A small decoded plaintext sits in Node's shared pool: zero it once sealed, error or not.
        plaintext.fill(0);
      }
    },

    decrypt: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'decrypt');
      const body = input.body(req);
      const plaintext = await deps.crypto.decrypt(
        view,
        actorOf(res),
        Buffer.from(body.ciphertext, 'base64url'),
        body.context,
        body.purpose,
      );
      // The body is a string copied out of `plaintext` before res.end, so zeroing right after the
      // (synchronous) end cannot reach the bytes being written; `finally` zeroes even if it throws.
      try {
        sendJson(res, `{"plaintext":"${plaintext.toString('base64')}"}`);
      } finally {
        plaintext.fill(0);
      }
    },

    encryptBatch: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'encrypt');
      const body = input.body(req);
      const items = body.items.map((i) => ({
        plaintext: Buffer.from(i.plaintext, 'base64'),
        context: i.context,
      }));
      try {
        const results = await deps.crypto.encryptBatch(view, actorOf(res), items);
        res.json({
          results: results.map((x) => itemBody(x, (b) => ({ ciphertext: b.toString('base64url') }))),
        });
      } finally {
        for (const i of items) i.plaintext.fill(0);
      }
    },

    decryptBatch: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'decrypt');
      const body = input.body(req);
      const results = await deps.crypto.decryptBatch(
        view,
        actorOf(res),
        body.items.map((i) => ({ ciphertext: decodeCiphertext(i.ciphertext), context: i.context })),
        body.purpose,
      );
      // As in decrypt: res.json serialises to a string before writing; zero after it, always.
      try {
        res.json({ results: results.map((x) => itemBody(x, (b) => ({ plaintext: b.toString('base64') }))) });
      } finally {
        for (const x of results) if (x.ok) x.value.fill(0);
      }
    },
  };
}
