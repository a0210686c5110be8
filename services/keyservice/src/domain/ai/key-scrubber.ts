/** What replaces anything key-like in a relayed error body. */
export const REDACTED = '[redacted]';

// A masked echo such as OpenAI's "sk-proj-*****...*****abcd": a token with a run of asterisks.
const MASKED_TOKEN = /[A-Za-z0-9_-]*\*{4,}[A-Za-z0-9_*-]*/g;

/**
 * Removes the tenant's key from an upstream body before it reaches the caller: the key itself, its
 * first and last 12 characters on their own (a partial echo), and masked echoes of any key
 * (OpenAI's 401 body names the key as `sk-proj-****...abcd`).
 */
export function scrubKey(text: string, key: string): string {
  let out = text.split(key).join(REDACTED);
  if (key.length >= 24) {
    out = out.split(key.slice(0, 12)).join(REDACTED).split(key.slice(-12)).join(REDACTED);
  }
  return out.replace(MASKED_TOKEN, REDACTED);
}

/** True when `buf` contains the key (checked on relayed success bodies). */
export function containsKey(buf: Buffer, key: string): boolean {
  return buf.includes(key, 0, 'utf8');
}
