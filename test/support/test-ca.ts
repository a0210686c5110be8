import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate and its private key: file paths and PEM contents. */
export interface IssuedCert {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

/** A throwaway certificate authority made at test time with the openssl CLI (EC P-256, valid one day). */
export interface TestCa {
  /** The CA certificate (PEM) and its file. */
  cert: Buffer;
  certFile: string;
  /**
   * Issues a leaf for 127.0.0.1/localhost, or for the DNS names `dnsNames` (`server`), or a client
   * certificate named `name` (`client`).
   */
  issue(name: string, use: 'server' | 'client', dnsNames?: readonly string[]): IssuedCert;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** Creates a CA named `name` whose files live in `dir`. */
export function createTestCa(dir: string, name: string): TestCa {
  const caKey = join(dir, `${name}-ca.key`);
  const caCert = join(dir, `${name}-ca.pem`);
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    caKey,
    '-out',
    caCert,
    '-days',
    '1',
    '-subj',
    `/CN=${name} test CA`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return {
    cert: readFileSync(caCert),
    certFile: caCert,
    issue(leaf, use, dnsNames) {
      const base = join(dir, `${name}-${leaf}`);
      const ext = `${base}.ext`;
      writeFileSync(
        ext,
        use === 'server'
          ? `subjectAltName=${dnsNames ? dnsNames.map((n) => `DNS:${n}`).join(',') : 'IP:127.0.0.1,DNS:localhost'}\nextendedKeyUsage=serverAuth\n`
          : 'extendedKeyUsage=clientAuth\n',
      );
      openssl([
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${base}.key`,
        '-out',
        `${base}.csr`,
        '-subj',
        `/CN=${leaf}`,
      ]);
      openssl([
        'x509',
        '-req',
        '-in',
        `${base}.csr`,
        '-CA',
        caCert,
        '-CAkey',
        caKey,
        '-set_serial',
        `0x${randomBytes(8).toString('hex')}`,
        '-days',
        '1',
        '-extfile',
        ext,
        '-out',
        `${base}.pem`,
      ]);
      return {
        certFile: `${base}.pem`,
        keyFile: `${base}.key`,
        cert: readFileSync(`${base}.pem`),
        key: readFileSync(`${base}.key`),
      };
    },
  };
}
