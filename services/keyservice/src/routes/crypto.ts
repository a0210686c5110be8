import {
  decodeCanonicalBase64,
  DecryptBatchRequest,
  DecryptRequest,
  EncryptBatchRequest,
  EncryptRequest,
} from '@byok/contract';
import { Router, type IRouter } from 'express';
import { actorOf, sendJson, tenantAccess, type AppDeps } from '../http/context.js';
import type { ItemResult } from '../domain/crypto/crypto-service.js';

/** Decodes a batch item's ciphertext (one decode), or undefined when it is not canonical base64url. */
function decodeCiphertext(s: string): Buffer | undefined {
  return decodeCanonicalBase64(s, 'base64url');
}

const itemBody = <T>(r: ItemResult<Buffer>, ok: (b: Buffer) => T) =>
  r.ok
    ? { ok: true as const, ...ok(r.value) }
    : { ok: false as const, error: { code: r.error.code, detail: r.error.detail ?? r.error.code } };

/** Encrypt and decrypt, single and batch. */
export function cryptoRoutes(deps: AppDeps, r: IRouter = Router()): IRouter {
  r.post('/v1/tenants/:tenantId/encrypt', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'encrypt');
    const body = EncryptRequest.parse(req.body);
    const { ciphertext, keyVersion } = await deps.crypto.encrypt(
      view,
      actorOf(res),
      Buffer.from(body.plaintext, 'base64'),
      body.context,
    );
    // base64url and an integer need no JSON escaping.
    sendJson(res, `{"ciphertext":"${ciphertext.toString('base64url')}","keyVersion":${keyVersion}}`);
  });

  r.post('/v1/tenants/:tenantId/decrypt', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'decrypt');
    const body = DecryptRequest.parse(req.body);
    const plaintext = await deps.crypto.decrypt(
      view,
      actorOf(res),
      Buffer.from(body.ciphertext, 'base64url'),
      body.context,
      body.purpose,
    );
    sendJson(res, `{"plaintext":"${plaintext.toString('base64')}"}`);
    plaintext.fill(0);
  });

  r.post('/v1/tenants/:tenantId/encrypt/batch', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'encrypt');
    const body = EncryptBatchRequest.parse(req.body);
    const results = await deps.crypto.encryptBatch(
      view,
      actorOf(res),
      body.items.map((i) => ({ plaintext: Buffer.from(i.plaintext, 'base64'), context: i.context })),
    );
    res.json({ results: results.map((x) => itemBody(x, (b) => ({ ciphertext: b.toString('base64url') }))) });
  });

  r.post('/v1/tenants/:tenantId/decrypt/batch', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'decrypt');
    const body = DecryptBatchRequest.parse(req.body);
    const results = await deps.crypto.decryptBatch(
      view,
      actorOf(res),
      body.items.map((i) => ({ ciphertext: decodeCiphertext(i.ciphertext), context: i.context })),
      body.purpose,
    );
    res.json({ results: results.map((x) => itemBody(x, (b) => ({ plaintext: b.toString('base64') }))) });
    for (const x of results) if (x.ok) x.value.fill(0);
  });

  return r;
}
