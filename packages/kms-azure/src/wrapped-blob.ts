/** Version byte of the Azure wrapped-blob format. */
export const AZURE_BLOB_V1 = 0x01;
const MAX_KID = 2048;

/** A decoded wrapped blob: the exact key version (kid) that wrapped, and Key Vault's output. */
export interface AzureWrappedBlob {
  kid: string;
  wrapped: Buffer;
}

/**
 * Encodes `0x01 | kid length (u16 BE) | kid (UTF-8) | wrapped bytes`. The kid pins the key
 * version, so unwrap goes to the version that wrapped even after the key has rotated.
 */
export function encodeAzureBlob(kid: string, wrapped: Uint8Array): Buffer {
  const kidBytes = Buffer.from(kid, 'utf8');
  if (kidBytes.length === 0 || kidBytes.length > MAX_KID) throw new RangeError('kid length out of range');
  const head = Buffer.alloc(3);
  head[0] = AZURE_BLOB_V1;
  head.writeUInt16BE(kidBytes.length, 1);
  return Buffer.concat([head, kidBytes, wrapped]);
}

/** Decodes {@link encodeAzureBlob}; undefined for anything malformed. */
export function decodeAzureBlob(blob: Uint8Array): AzureWrappedBlob | undefined {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (buf.length < 4 || buf[0] !== AZURE_BLOB_V1) return undefined;
  const kidLen = buf.readUInt16BE(1);
  if (kidLen === 0 || kidLen > MAX_KID || buf.length <= 3 + kidLen) return undefined;
  const kid = buf.subarray(3, 3 + kidLen).toString('utf8');
  if (Buffer.byteLength(kid, 'utf8') !== kidLen) return undefined;
  return { kid, wrapped: Buffer.from(buf.subarray(3 + kidLen)) };
}
