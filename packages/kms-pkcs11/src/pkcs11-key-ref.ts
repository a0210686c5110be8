import { InvalidKeyRefError, type KeyRefBase } from '@byok/kms';

/** The provider name PKCS#11 key references are registered under. */
export const PKCS11_PROVIDER = 'pkcs11';

/** A secret key object on an HSM token, named by RFC 7512 URI: `pkcs11:token=<token>;object=<label>`. */
export interface Pkcs11KeyRef extends KeyRefBase {
  readonly provider: typeof PKCS11_PROVIDER;
  /** Canonical URI: token first, then object, percent-encoded as RFC 7512 requires. */
  readonly uri: string;
  /** CK_TOKEN_INFO label of the token (partition) holding the key. */
  readonly tokenLabel: string;
  /** CKA_LABEL of the AES secret key object. */
  readonly objectLabel: string;
}

/** The shape of a reference, for docs and error messages. */
export const PKCS11_KEY_REF_FORMAT = 'pkcs11:token=TOKEN_LABEL;object=KEY_LABEL';

const SCHEME = 'pkcs11:';
const MAX_INPUT = 2048;
/** CK_TOKEN_INFO.label is a fixed 32-byte field. */
const MAX_TOKEN_LABEL_BYTES = 32;
/** PKCS#11 sets no limit on CKA_LABEL; HSMs do, and none we know allows more than this. */
const MAX_OBJECT_LABEL_BYTES = 256;
/** RFC 7512 pk11-pchar: unreserved, pk11-res-avail and (in the path) `&`; all else is pct-encoded. */
const PCHAR = /^(?:[A-Za-z0-9\-._~:[\]@!$'()*+,=&]|%[0-9A-Fa-f]{2})*$/;
const LITERAL = /[A-Za-z0-9\-._~:[\]@!$'()*+,=&]/;
/** Path attributes RFC 7512 defines that a key reference here may not use (they pin hardware or other objects). */
const KNOWN_UNSUPPORTED = new Set([
  'id',
  'library-description',
  'library-manufacturer',
  'library-version',
  'manufacturer',
  'model',
  'serial',
  'slot-description',
  'slot-id',
  'slot-manufacturer',
]);

/** The input as errors may carry it: no query, and no value of a `pin-*` attribute, wherever it was put. */
function redacted(input: string): string {
  const q = input.indexOf('?');
  return (q < 0 ? input : `${input.slice(0, q)}?<redacted>`).replace(/(pin-[a-z]*=)[^;]*/gi, '$1<redacted>');
}

function fail(input: string, reason: string): never {
  throw new InvalidKeyRefError(PKCS11_PROVIDER, redacted(input), reason);
}

/** Percent-encodes `value` as RFC 7512 requires: every byte outside pk11-pchar as `%XX` (upper-case hex). */
export function encodePkcs11Value(value: string): string {
  let out = '';
  for (const ch of value) {
    if (LITERAL.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decodeValue(input: string, name: string, raw: string): string {
  if (!PCHAR.test(raw)) {
    fail(input, `${name} contains a character that must be percent-encoded (RFC 7512), e.g. space as %20`);
  }
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '%') {
      bytes.push(Number.parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(raw.charCodeAt(i));
  }
  const buf = Buffer.from(bytes);
  const text = buf.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(buf)) fail(input, `${name} is not valid UTF-8 once decoded`);
  return text;
}

function checkLabel(input: string, name: string, label: string, maxBytes: number): void {
  if (label.length === 0) fail(input, `${name} must not be empty`);
  if (Buffer.byteLength(label, 'utf8') > maxBytes) fail(input, `${name} must be at most ${maxBytes} bytes`);
  if ([...label].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    fail(input, `${name} must not contain control characters`);
  }
  // Token labels are blank-padded in CK_TOKEN_INFO, so "a " and "a" are the same token.
  if (label.trim() !== label) fail(input, `${name} must not start or end with a space`);
}

/** The canonical URI of a token and key label. */
export function pkcs11Uri(tokenLabel: string, objectLabel: string): string {
  return `${SCHEME}token=${encodePkcs11Value(tokenLabel)};object=${encodePkcs11Value(objectLabel)}`;
}

/**
 * Parses an RFC 7512 PKCS#11 URI naming one AES key: `token` and `object` in either order, plus an
 * optional `type=secret-key`. Refuses query attributes (a PIN never travels in a key reference;
 * the module comes from the service's config), other attributes, empty or duplicate ones.
 */
export function parsePkcs11KeyRef(input: string): Pkcs11KeyRef {
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_INPUT) {
    throw new InvalidKeyRefError(
      PKCS11_PROVIDER,
      redacted(String(input).slice(0, 64)),
      `must be a non-empty string of at most ${MAX_INPUT} characters`,
    );
  }
  if (input.trim() !== input) fail(input, 'must not have surrounding spaces');
  if (input.slice(0, SCHEME.length).toLowerCase() !== SCHEME)
    fail(input, `expected ${PKCS11_KEY_REF_FORMAT}`);
  const rest = input.slice(SCHEME.length);
  if (rest.includes('?')) {
    fail(
      input,
      'query attributes (pin-value, pin-source, module-path ...) are not accepted: a PIN never travels in a key reference',
    );
  }
  if (rest.includes('#') || rest.includes('/'))
    fail(input, 'must not contain "/" or "#" (percent-encode them)');
  const attrs = new Map<string, string>();
  for (const part of rest.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) fail(input, `expected name=value attributes separated by ";", got "${part}"`);
    const name = part.slice(0, eq);
    if (attrs.has(name)) fail(input, `attribute ${name} appears twice`);
    if (name !== 'token' && name !== 'object' && name !== 'type') {
      fail(
        input,
        KNOWN_UNSUPPORTED.has(name)
          ? `attribute ${name} is not supported: name the key by token and object label only`
          : `unknown attribute ${name}`,
      );
    }
    attrs.set(name, decodeValue(input, name, part.slice(eq + 1)));
  }
  const type = attrs.get('type');
  if (type !== undefined && type !== 'secret-key') fail(input, 'type must be secret-key (an AES key)');
  const tokenLabel = attrs.get('token');
  const objectLabel = attrs.get('object');
  if (tokenLabel === undefined) fail(input, 'the token attribute (token label) is required');
  if (objectLabel === undefined) fail(input, 'the object attribute (key label) is required');
  checkLabel(input, 'token', tokenLabel, MAX_TOKEN_LABEL_BYTES);
  checkLabel(input, 'object', objectLabel, MAX_OBJECT_LABEL_BYTES);
  return { provider: PKCS11_PROVIDER, uri: pkcs11Uri(tokenLabel, objectLabel), tokenLabel, objectLabel };
}
