import type { ErrorRequestHandler, Response } from 'express';
import { TITLE_BY_CODE, toAppError, type AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { StoreHealth } from './store-health.js';

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
  // AI gateway: the providers' SDKs surface only an `error` object; carry the code and detail there too.
  if (res.locals.providerErrorEnvelope === true)
    body.error = {
      type: 'byok_error',
      code: err.code,
      message: `${err.code}: ${(err.code !== 'INTERNAL' && err.detail) || TITLE_BY_CODE[err.code]}`,
    };
  if (err.extra.retryAfterSeconds !== undefined)
    res.setHeader('Retry-After', String(Math.ceil(err.extra.retryAfterSeconds)));
  else if (
    err.code === 'KMS_UNAVAILABLE' ||
    err.code === 'AUDIT_UNAVAILABLE' ||
    err.code === 'STORE_UNAVAILABLE' ||
    err.code === 'KMS_THROTTLED'
  )
    res.setHeader('Retry-After', '1');
  res.status(err.status).type('application/problem+json').send(JSON.stringify(body));
}

/** The one express error handler: typed errors to problem+json; internal ones logged, never shown. */
export function problemHandler(logger: Logger, storeHealth?: StoreHealth): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const appErr = toAppError(err);
    if (appErr.code === 'STORE_UNAVAILABLE') storeHealth?.failed();
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
