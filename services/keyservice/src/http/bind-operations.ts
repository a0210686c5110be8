import {
  expressPath,
  type ApiContract,
  type OperationId,
  responseMismatch,
  type BodyOf,
  type OperationDef,
  type ParamsOf,
  type QueryOf,
} from '@byok/contract';
import type { Express, Request, RequestHandler, Response } from 'express';
import { TITLE_BY_CODE } from '../errors.js';

/**
 * Parsers of one operation's input, built once per operation (nothing allocated per request).
 * They are called by the handler, not before it, because the order of checks is part of the
 * API: permission first (a foreign token learns nothing), then validation.
 */
export interface OperationInput<O extends OperationDef> {
  /** The body, validated by the entry (VALIDATION_FAILED otherwise); `absent` stands in for no body. */
  body(req: Request, absent?: unknown): BodyOf<O>;
  /** The query, validated by the entry (VALIDATION_FAILED otherwise). */
  query(req: Request): QueryOf<O>;
  /** A path parameter checked against the entry, or undefined when it does not match (the handler says NOT_FOUND). */
  param<K extends keyof ParamsOf<O> & string>(req: Request, name: K): ParamsOf<O>[K] | undefined;
}

/** A handler bound to operation `O`. */
export type OperationHandler<O extends OperationDef> = (
  req: Request,
  res: Response,
  input: OperationInput<O>,
) => void | Promise<void>;

/** Handlers of the operations `K` of the API contract (what each route file provides). */
export type ContractHandlers<K extends OperationId> = Pick<OperationHandlers<ApiContract>, K>;

/** Exactly one handler per operation of contract `C`. */
export type OperationHandlers<C extends Record<string, OperationDef>> = {
  [K in keyof C]: OperationHandler<C[K]>;
};

/** Options of {@link bindOperations}. */
export interface BindOptions {
  /**
   * TESTS: check every response against the entry's schema for its status and turn a mismatch
   * into a 500 naming the operation. Off in production: it costs a parse per response.
   */
  validateResponses?: boolean;
  /** Whether to serve an operation (the development-only ones are skipped outside development). */
  serves?: (op: OperationDef) => boolean;
  /** Told about each mismatch found by `validateResponses`. */
  onMismatch?: (opId: string, why: string) => void;
}

function inputOf<O extends OperationDef>(op: O): OperationInput<O> {
  const shape = op.params?.shape as
    Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }> | undefined;
  return {
    body: (req, absent) => (op.body ? op.body.parse(req.body ?? absent) : undefined) as BodyOf<O>,
    query: (req) => (op.query ? op.query.parse(req.query) : undefined) as QueryOf<O>,
    param: (req, name) => {
      const r = shape?.[name]?.safeParse(req.params[name]);
      return (r?.success ? r.data : undefined) as ParamsOf<O>[typeof name] | undefined;
    },
  };
}

/**
 * Registers each operation of `contract` on `app` itself (no nested routers: each costs every
 * request a dispatch), in contract order, with its handler. A route that is not in the contract
 * does not exist, and an operation without a handler does not compile.
 */
export function bindOperations<C extends Record<string, OperationDef>, H extends OperationHandlers<C>>(
  app: Express,
  contract: C,
  handlers: H & Record<Exclude<keyof H, keyof C>, never>,
  opts: BindOptions = {},
): void {
  for (const [id, op] of Object.entries(contract)) {
    if (opts.serves && !opts.serves(op)) continue;
    const handler = handlers[id as keyof C] as OperationHandler<OperationDef>;
    const input = inputOf(op);
    const bound: RequestHandler = (req, res) => handler(req, res, input);
    app[op.method](
      expressPath(op.path, op.catchAll),
      opts.validateResponses ? checked(op, bound, opts.onMismatch) : bound,
    );
  }
}

/** Wraps `handler` so that the body it (or the error handler) ends the response with is checked. */
function checked(
  op: OperationDef,
  handler: RequestHandler,
  onMismatch: BindOptions['onMismatch'],
): RequestHandler {
  return (req, res, next) => {
    const end = res.end.bind(res) as (...args: unknown[]) => Response;
    res.end = ((...args: unknown[]) => {
      if (res.headersSent) return end(...args);
      const chunk = args[0];
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
      const why = responseMismatch(
        op,
        res.statusCode,
        res.getHeader('content-type') as string | undefined,
        text,
      );
      if (!why) return end(...args);
      onMismatch?.(op.id, why);
      const body = JSON.stringify({
        type: 'https://byok.dev/problems/internal',
        title: TITLE_BY_CODE.INTERNAL,
        status: 500,
        code: 'INTERNAL',
        detail: `response of ${op.id} does not match the contract: ${why}`,
      });
      res.statusCode = 500;
      res.setHeader('Content-Type', 'application/problem+json');
      res.setHeader('Content-Length', Buffer.byteLength(body));
      return end(body);
    }) as Response['end'];
    return handler(req, res, next);
  };
}
