import { ByokApiError } from './client-errors.js';

/** The bytes of a Uint8Array view (not its whole underlying buffer) as a Buffer, without copying. */
export function bytes(input: unknown, what: string): Buffer {
  if (!(input instanceof Uint8Array))
    throw new ByokApiError({ code: 'REQUEST_INVALID', detail: `${what} must be a Uint8Array` });
  return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}
