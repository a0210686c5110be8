import { ERROR_CODES, type ErrorCode } from '@byok/contract';
import type { ErrorRequestHandler, Response } from 'express';
import { ZodError } from 'zod';
import { AppError, TITLE_BY_CODE } from '../errors.js';
import type { Logger } from '../logger.js';

const KNOWN = new Set<string>(ERROR_CODES);

/** Maps any thrown value onto our taxonomy. Unknown errors become INTERNAL with no detail. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof ZodError) {
    return new AppError('VALIDATION_FAILED', 'request failed validation', {
      errors: err.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message })),
    });
  }
  if (err && typeof err === 'object') {
    const e = err as {
      code?: unknown;
      type?: unknown;
      status?: unknown;
      expose?: unknown;
      message?: unknown;
      retryAfterSeconds?: unknown;
    };
    // body-parser (express.json) errors
    if (e.type === 'entity.too.large')
      return new AppError('PAYLOAD_TOO_LARGE', 'request body exceeds the size limit');
    if (e.type === 'entity.parse.failed')
      return new AppError('MALFORMED_REQUEST', 'request body is not valid JSON');
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'unsupported body encoding');
    // Any other client error while reading the body (e.g. a gzip body that is not gzip, a length
    // mismatch) is the caller's fault, not an internal error.
    if (e.expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      if (e.status === 413) return new AppError('PAYLOAD_TOO_LARGE', 'request body exceeds the size limit');
      if (e.status === 415) return new AppError('UNSUPPORTED_MEDIA_TYPE', 'unsupported body encoding');
      return new AppError('MALFORMED_REQUEST', 'request body could not be read');
    }
    if (typeof e.code === 'string') {
      if (e.code === '23505') return new AppError('CONFLICT', 'the resource already exists', { cause: err });
      if (e.code === 'UNAVAILABLE' || e.code === 'ECONNREFUSED' || e.code === '57P01') {
        return new AppError('STORE_UNAVAILABLE', 'the database is unavailable', { cause: err });
      }
      if (e.code === 'AUDIT_UNAVAILABLE') {
        return new AppError(
          'AUDIT_UNAVAILABLE',
          'the audit event could not be committed, so the request was refused',
          { cause: err },
        );
      }
      if (KNOWN.has(e.code) && e.code !== 'INTERNAL') {
        const extra: { cause: unknown; retryAfterSeconds?: number } = { cause: err };
        if (typeof e.retryAfterSeconds === 'number') extra.retryAfterSeconds = e.retryAfterSeconds;
        return new AppError(
          e.code as ErrorCode,
          typeof e.message === 'string' ? e.message : undefined,
          extra,
        );
      }
    }
  }
  return new AppError('INTERNAL', undefined, { cause: err });
}

/** Writes an RFC 9457 problem+json body. */
export function sendProblem(
  res: Response,
  err: AppError,
  requestId: string | undefined,
  instance?: string,
): void {
  const body: Record<string, unknown> = {
    type: `https://byok.dev/problems/${err.code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLE_BY_CODE[err.code],
    status: err.status,
    code: err.code,
  };
  if (err.detail && err.code !== 'INTERNAL') body.detail = err.detail;
  if (instance) body.instance = instance;
  if (requestId) body.requestId = requestId;
  if (err.extra.errors) body.errors = err.extra.errors;
  if (err.extra.retryAfterSeconds !== undefined)
    res.setHeader('Retry-After', String(Math.ceil(err.extra.retryAfterSeconds)));
  else if (err.code === 'KMS_UNAVAILABLE' || err.code === 'AUDIT_UNAVAILABLE' || err.code === 'KMS_THROTTLED')
    res.setHeader('Retry-After', '1');
  res.status(err.status).type('application/problem+json').send(JSON.stringify(body));
}

/** The one express error handler: typed errors to problem+json; internal ones logged, never shown. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const appErr = toAppError(err);
    const requestId = res.locals.requestId as string | undefined;
    if (appErr.code === 'INTERNAL' || appErr.code === 'STORE_UNAVAILABLE') {
      const cause = appErr.extra.cause ?? err;
      logger.error(
        {
          requestId,
          err: {
            name: (cause as Error)?.name,
            message: (cause as Error)?.message,
            stack: (cause as Error)?.stack,
          },
        },
        'request failed',
      );
    }
    if (res.headersSent) return;
    sendProblem(res, appErr, requestId, req.originalUrl.split('?')[0]);
  };
}
