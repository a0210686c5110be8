import { randomFillSync } from 'node:crypto';
import { GCM_IV_BYTES } from './aes-gcm.js';

/** Fresh bytes per seal: salt then IV. */
const DRAW_BYTES = 32 + GCM_IV_BYTES;
// One CSPRNG call per 128 seals instead of one per seal (~2 us each), as Node's randomUUID does.
const POOL_BYTES = DRAW_BYTES * 128;
const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let next = POOL_BYTES;

/** Copies 44 fresh CSPRNG bytes (never handed out twice) into `target` at `offset`. */
export function drawSaltAndIv(target: Buffer, offset: number): void {
  if (next === POOL_BYTES) {
    randomFillSync(pool);
    next = 0;
  }
  pool.copy(target, offset, next, next + DRAW_BYTES);
  next += DRAW_BYTES;
}
