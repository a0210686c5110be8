import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { defineOperation } from '@byok/contract';
import express from 'express';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { bindOperations, type OperationHandlers } from './bind-operations.js';
import { sendJson } from './context.js';
import { problemHandler } from './problem.js';
import { createLogger } from '../logger.js';

const contract = {
  good: defineOperation({
    id: 'good',
    method: 'get',
    path: '/good/{n}',
    tag: 't',
    summary: 'answers its schema',
    roles: ['public'],
    params: z.object({ n: z.string().regex(/^\d+$/) }),
    responses: { 200: { description: 'ok', schema: z.object({ n: z.number() }) } },
    errors: ['NOT_FOUND'],
  }),
  extraField: defineOperation({
    id: 'extraField',
    method: 'get',
    path: '/extra',
    tag: 't',
    summary: 'answers a field its schema does not list (pre-serialized)',
    roles: ['public'],
    responses: { 200: { description: 'ok', schema: z.strictObject({ a: z.string() }) } },
    errors: [],
  }),
  undeclaredCode: defineOperation({
    id: 'undeclaredCode',
    method: 'post',
    path: '/undeclared',
    tag: 't',
    summary: 'fails with a code it does not declare',
    roles: ['public'],
    body: z.strictObject({ x: z.number() }),
    responses: { 204: { description: 'done' } },
    errors: ['VALIDATION_FAILED'],
  }),
};

const handlers: OperationHandlers<typeof contract> = {
  good: (req, res, input) => {
    const n = input.param(req, 'n');
    if (n === undefined) throw new AppError('NOT_FOUND', 'no such n');
    res.json({ n: Number(n) });
  },
  extraField: (_req, res) => sendJson(res, '{"a":"x","key":"leak"}'),
  undeclaredCode: (req, res, input) => {
    if (input.body(req).x > 1) throw new AppError('CONFLICT', 'too big');
    res.status(204).end();
  },
};

// Compile-time checks: a missing or an extra handler does not typecheck.
export function typeChecks(app: express.Express): void {
  // @ts-expect-error -- the handler of `undeclaredCode` is missing
  bindOperations(app, contract, { good: handlers.good, extraField: handlers.extraField });
  // @ts-expect-error -- `other` is not an operation of the contract
  bindOperations(app, contract, { ...handlers, other: handlers.good });
}

async function serve(validateResponses: boolean) {
  const app = express();
  app.use(express.json());
  const mismatches: string[] = [];
  bindOperations(app, contract, handlers, {
    validateResponses,
    onMismatch: (id, why) => mismatches.push(`${id}: ${why}`),
  });
  app.use(problemHandler(createLogger('silent')));
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, mismatches, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('bindOperations with validateResponses (what the test harness turns on)', () => {
  let on: Awaited<ReturnType<typeof serve>>;
  let off: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    on = await serve(true);
    off = await serve(false);
  });
  afterAll(async () => {
    await on?.close();
    await off?.close();
  });

  it('passes a response that matches its entry, and a declared error', async () => {
    const ok = await fetch(`${on.url}/good/7`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ n: 7 });
    const missing = await fetch(`${on.url}/good/x`);
    expect(missing.status).toBe(404);
    expect(on.mismatches).toEqual([]);
  });

  it('turns a pre-serialized body with an unlisted field into a 500 naming the operation', async () => {
    const r = await fetch(`${on.url}/extra`);
    expect(r.status).toBe(500);
    const body = (await r.json()) as { code: string; detail: string };
    expect(body.code).toBe('INTERNAL');
    expect(body.detail).toContain('extraField');
    expect(JSON.stringify(body)).not.toContain('leak');
    expect(on.mismatches.some((m) => m.startsWith('extraField'))).toBe(true);
  });

  it('turns an error code the operation does not declare into a 500', async () => {
    const bad = await fetch(`${on.url}/undeclared`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"x":2}',
    });
    expect(bad.status).toBe(500);
    expect(((await bad.json()) as { detail: string }).detail).toContain('CONFLICT');
    const invalid = await fetch(`${on.url}/undeclared`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"x":"no"}',
    });
    expect(invalid.status).toBe(400);
  });

  it('checks nothing when off (production): the response goes out as the handler wrote it', async () => {
    const r = await fetch(`${off.url}/extra`);
    expect(r.status).toBe(200);
    expect(off.mismatches).toEqual([]);
  });
});
