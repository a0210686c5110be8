import { lookup as dnsLookup } from 'node:dns/promises';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Why the guard refused a connection (stable code, no connection attempted). */
export class EgressRefusedError extends Error {
  readonly code = 'EGRESS_REFUSED';
  constructor(
    message: string,
    readonly host: string,
  ) {
    super(message);
    this.name = 'EgressRefusedError';
  }
}

/** True when `cidr` parses as an IPv4 or IPv6 CIDR (`127.0.0.0/8`, `fd00::/8`). */
export function isCidr(cidr: string): boolean {
  try {
    ipaddr.parseCIDR(cidr);
    return true;
  } catch {
    return false;
  }
}

/** One resolved address of a host name. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to all its addresses (injectable for tests). */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

/** Options of {@link EgressGuard}. */
export interface EgressGuardOptions {
  /** CIDRs the operator allows even though they are in a refused range (e.g. `127.0.0.0/8` in tests). */
  allowCidrs?: readonly string[];
  resolver?: Resolver;
}

/** Options of one guarded request. */
export interface EgressRequest {
  /** HTTP method (sinks POST; the Azure SDK also GETs, PATCHes ...). */
  method: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Whole-request deadline (connect, send, response, body). */
  timeoutMs: number;
  /** At most this many response body bytes are read; the rest is never read (the socket is destroyed). */
  maxBodyBytes: number;
  signal?: AbortSignal;
  /** Extra CA certificate (PEM) trusted for this request's TLS (emulators); the system CAs otherwise. */
  ca?: string;
}

/** A guarded response: status and the capped body. */
export interface EgressResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  truncated: boolean;
}

// Every special-purpose range ipaddr.js names is refused; only 'unicast' is public.
const PUBLIC_RANGE = 'unicast';

const systemResolver: Resolver = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

/**
 * The one way the service connects somewhere on a tenant's behalf: it resolves the name itself,
 * refuses loopback, private, link-local (169.254.169.254), CGNAT, ULA, multicast, unspecified and
 * other reserved addresses unless an allowed CIDR covers them, connects to the address it checked
 * (no DNS rebinding), follows no redirects, caps the body and applies a deadline.
 */
export class EgressGuard {
  private readonly allow: [ipaddr.IPv4 | ipaddr.IPv6, number][];
  private readonly resolver: Resolver;

  constructor(o: EgressGuardOptions = {}) {
    this.allow = (o.allowCidrs ?? []).map((c) => ipaddr.parseCIDR(c));
    this.resolver = o.resolver ?? systemResolver;
  }

  /** True when a connection to `ip` is allowed. */
  isAllowedAddress(ip: string): boolean {
    let addr = ipaddr.parse(ip);
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
      addr = (addr as ipaddr.IPv6).toIPv4Address();
    }
    const inAllowed = this.allow.some(
      ([net, bits]) => net.kind() === addr.kind() && (addr as ipaddr.IPv4).match(net as ipaddr.IPv4, bits),
    );
    if (inAllowed) return true;
    return addr.range() === PUBLIC_RANGE;
  }

  /**
   * Checks a host without DNS: a literal address must be allowed, and `localhost` names count as
   * 127.0.0.1; other names pass here and are resolved and checked when connecting.
   */
  isAllowedLiteralHost(host: string): boolean {
    const bare = (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host).toLowerCase();
    if (bare === 'localhost' || bare.endsWith('.localhost')) return this.isAllowedAddress('127.0.0.1');
    return isIP(bare) === 0 || this.isAllowedAddress(bare);
  }

  /** Resolves `host` (or takes a literal IP) and returns the address to connect to; throws {@link EgressRefusedError}. */
  async resolve(host: string): Promise<ResolvedAddress> {
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    const literal = isIP(bare);
    let addrs: ResolvedAddress[];
    if (literal !== 0) addrs = [{ address: bare, family: literal === 6 ? 6 : 4 }];
    else {
      try {
        addrs = await this.resolver(bare);
      } catch {
        throw new EgressRefusedError(`cannot resolve ${bare}`, bare);
      }
    }
    // Every address must pass: a name answering one public and one private address is refused.
    if (addrs.length === 0 || addrs.some((a) => !this.isAllowedAddress(a.address))) {
      throw new EgressRefusedError(`${bare} resolves to an address outside the egress allow-list`, bare);
    }
    return addrs[0] as ResolvedAddress;
  }

  /** Sends one request through the guard; redirects are answered as they are, never followed. */
  async request(rawUrl: string | URL, r: EgressRequest): Promise<EgressResponse> {
    const url = new URL(rawUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new EgressRefusedError(`scheme ${url.protocol} not allowed`, url.hostname);
    }
    const pinned = await this.resolve(url.hostname);
    const signal = r.signal
      ? AbortSignal.any([r.signal, AbortSignal.timeout(r.timeoutMs)])
      : AbortSignal.timeout(r.timeoutMs);
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise<EgressResponse>((resolve, reject) => {
      const req = mod.request(
        url,
        {
          method: r.method,
          headers: r.headers,
          signal,
          agent: false,
          ...(r.ca !== undefined && url.protocol === 'https:' ? { ca: r.ca } : {}),
          // Connect to the address checked above, whatever DNS says now. Node 20 asks for every
          // address (`all: true`, for happy eyeballs) and then expects an array.
          lookup: (_h, o, cb) => {
            if ((o as { all?: boolean }).all) {
              (cb as unknown as (e: null, a: ResolvedAddress[]) => void)(null, [pinned]);
            } else cb(null, pinned.address, pinned.family);
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          let truncated = false;
          const finish = () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
              truncated,
            });
          res.on('data', (chunk: Buffer) => {
            const room = r.maxBodyBytes - size;
            if (chunk.length >= room) {
              if (room > 0) chunks.push(chunk.subarray(0, room));
              size = r.maxBodyBytes;
              truncated = true;
              res.destroy();
              req.destroy();
              finish();
              return;
            }
            chunks.push(chunk);
            size += chunk.length;
          });
          res.on('end', finish);
          res.on('error', (e) => (truncated ? finish() : reject(e)));
        },
      );
      req.on('error', (e) => reject(signal.aborted ? (signal.reason as Error) : e));
      req.end(r.body);
    });
  }
}
