import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** An access key the emulator accepts, as a real account would have. */
export interface AwsEmulatorCredential {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A request as the server saw it, enough to recompute its SigV4 signature. */
export interface SignableRequest {
  method: string;
  /** Path and query as sent, e.g. `/` or `/?a=b`. */
  url: string;
  /** Node's `rawHeaders`: name, value, name, value... */
  rawHeaders: readonly string[];
  body: Buffer;
}

/** Why a signature was refused, with the AWS error type a real endpoint returns. */
export interface SigV4Failure {
  type: 'UnrecognizedClientException' | 'InvalidSignatureException' | 'IncompleteSignatureException';
  message: string;
}

/** The verified caller: the access key and the region and service from the credential scope. */
export interface SigV4Success {
  accessKeyId: string;
  region: string;
  service: string;
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

// RFC 3986 unreserved characters stay, everything else is %XX (upper case), as SigV4 demands.
function uriEncode(s: string, keepSlash: boolean): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) => {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) return c;
      return `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

function canonicalPath(path: string): string {
  // Non-S3 services encode each segment twice: once by the client, once for the canonical form.
  return path
    .split('/')
    .map((seg) => uriEncode(uriEncode(decodeURIComponent(seg), false), false))
    .join('/');
}

function canonicalQuery(query: string): string {
  if (!query) return '';
  return [...new URLSearchParams(query)]
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function headerMap(rawHeaders: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    const value = (rawHeaders[i + 1] ?? '').trim().replace(/\s+/g, ' ');
    map.set(name, map.has(name) ? `${map.get(name)},${value}` : value);
  }
  return map;
}

/** The SigV4 signing key for one day, region and service. */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

/** The string to sign and canonical request for `req`, signing `signedHeaders`. */
export function stringToSign(
  req: SignableRequest,
  signedHeaders: readonly string[],
  amzDate: string,
  scope: string,
): string {
  const headers = headerMap(req.rawHeaders);
  const [path = '/', query = ''] = req.url.split('?', 2);
  const canonical = [
    req.method.toUpperCase(),
    canonicalPath(path),
    canonicalQuery(query),
    signedHeaders.map((h) => `${h}:${headers.get(h) ?? ''}\n`).join(''),
    signedHeaders.join(';'),
    headers.get('x-amz-content-sha256') ?? sha256(req.body),
  ].join('\n');
  return ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;

/**
 * Verifies the SigV4 `Authorization` header of `req` by recomputing the signature with the known
 * secret, as AWS does. Also refuses a request whose X-Amz-Date is more than 15 minutes off.
 */
export function verifySigV4(
  req: SignableRequest,
  credentials: readonly AwsEmulatorCredential[],
  now: Date = new Date(),
): SigV4Success | SigV4Failure {
  const headers = headerMap(req.rawHeaders);
  const auth = headers.get('authorization');
  if (!auth) {
    return { type: 'IncompleteSignatureException', message: 'Authorization header is missing' };
  }
  const m = AUTH.exec(auth);
  if (!m) return { type: 'IncompleteSignatureException', message: 'Authorization header is malformed' };
  const [, credential = '', signed = '', signature = ''] = m;
  const [accessKeyId = '', date = '', region = '', service = '', term = ''] = credential.split('/');
  const known = credentials.find((c) => c.accessKeyId === accessKeyId);
  if (!known) {
    return {
      type: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    };
  }
  const amzDate = headers.get('x-amz-date') ?? '';
  const signedHeaders = signed.split(';');
  if (term !== 'aws4_request' || !/^\d{8}T\d{6}Z$/.test(amzDate) || !amzDate.startsWith(date)) {
    return { type: 'IncompleteSignatureException', message: 'Credential scope or X-Amz-Date is malformed' };
  }
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-amz-date')) {
    return { type: 'IncompleteSignatureException', message: 'host and x-amz-date must be signed' };
  }
  const when = Date.UTC(
    Number(amzDate.slice(0, 4)),
    Number(amzDate.slice(4, 6)) - 1,
    Number(amzDate.slice(6, 8)),
    Number(amzDate.slice(9, 11)),
    Number(amzDate.slice(11, 13)),
    Number(amzDate.slice(13, 15)),
  );
  if (Math.abs(now.getTime() - when) > 15 * 60 * 1000) {
    return {
      type: 'InvalidSignatureException',
      message: 'Signature expired: X-Amz-Date is more than 15 minutes off',
    };
  }
  const scope = `${date}/${region}/${service}/aws4_request`;
  const expected = hmac(
    signingKey(known.secretAccessKey, date, region, service),
    stringToSign(req, signedHeaders, amzDate, scope),
  );
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    return {
      type: 'InvalidSignatureException',
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    };
  }
  return { accessKeyId, region, service };
}

/** Signs a request for tests and out-of-process tools: returns the headers to add. */
export function signSigV4(
  req: Omit<SignableRequest, 'rawHeaders'> & { headers: Record<string, string> },
  credential: AwsEmulatorCredential,
  region: string,
  service: string,
  now: Date = new Date(),
): Record<string, string> {
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = { ...req.headers, 'x-amz-date': amzDate };
  const rawHeaders = Object.entries(headers).flat();
  const signedHeaders = Object.keys(headers)
    .map((h) => h.toLowerCase())
    .sort();
  const scope = `${date}/${region}/${service}/aws4_request`;
  const sts = stringToSign({ ...req, rawHeaders }, signedHeaders, amzDate, scope);
  const signature = hmac(signingKey(credential.secretAccessKey, date, region, service), sts).toString('hex');
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${credential.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`,
  };
}
