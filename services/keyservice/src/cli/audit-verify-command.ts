import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import {
  mergeKeyrings,
  keyringOf,
  parseKeyring,
  trustedKey,
  verifyExport,
  type ExportVerification,
  type Keyring,
  type SignedCheckpoint,
} from '@byok/audit';

/** Where the command writes (stdout/stderr in the CLI, buffers in tests). */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const USAGE =
  'usage: byok audit verify <export.ndjson> (--public-key key.pem ... | --keyring keyring.json | --no-signature-check)\n' +
  '                         [--checkpoint cp.json ...] [--json]\n' +
  '  Recomputes the hash chain of an NDJSON export offline and checks it against its signed\n' +
  '  checkpoints (and any --checkpoint saved earlier). Take the keys from your security team, not\n' +
  '  from the service: --public-key (repeatable) trusts a key without bounds, --keyring trusts each\n' +
  '  key within its validFrom..validUntil. Without a key the command refuses unless told\n' +
  '  --no-signature-check. Exit 0 = intact, 1 = tampered, 2 = usage error.';

/** Parses `audit verify` arguments and runs the offline verification; returns the exit code. */
export async function runAuditVerify(args: string[], io: Output): Promise<number> {
  let file: string | undefined;
  let json = false;
  let noSignatureCheck = false;
  const keyFiles: string[] = [];
  const keyringFiles: string[] = [];
  const cpFiles: string[] = [];
  const value = (i: number): string | undefined => {
    const v = args[i];
    return v === undefined || v.startsWith('--') ? undefined : v;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const list =
      a === '--public-key'
        ? keyFiles
        : a === '--keyring'
          ? keyringFiles
          : a === '--checkpoint'
            ? cpFiles
            : null;
    if (list) {
      const v = value(++i);
      if (v === undefined) {
        io.err(`${a} needs a file\n${USAGE}`);
        return 2;
      }
      list.push(v);
    } else if (a === '--json') json = true;
    else if (a === '--no-signature-check') noSignatureCheck = true;
    else if (a === '--help' || a === '-h') {
      io.out(USAGE);
      return 0;
    } else if (!a.startsWith('--') && file === undefined) file = a;
    else {
      io.err(`unknown argument ${a}\n${USAGE}`);
      return 2;
    }
  }
  const withKeys = keyFiles.length + keyringFiles.length > 0;
  if (!file) {
    io.err(USAGE);
    return 2;
  }
  if (!withKeys && !noSignatureCheck) {
    io.err(
      `no trusted key: give --public-key or --keyring (from your security team), or --no-signature-check\n${USAGE}`,
    );
    return 2;
  }
  if (withKeys && noSignatureCheck) {
    io.err(`--no-signature-check contradicts --public-key/--keyring\n${USAGE}`);
    return 2;
  }
  let keyring: Keyring | undefined;
  const trusted: SignedCheckpoint[] = [];
  try {
    if (withKeys) {
      const rings: Keyring[] = [];
      for (const f of keyFiles) rings.push(keyringOf([trustedKey(await readFile(f, 'utf8'))]));
      for (const f of keyringFiles) rings.push(parseKeyring(await readFile(f, 'utf8')));
      keyring = mergeKeyrings(...rings);
    }
    for (const f of cpFiles) {
      const parsed = JSON.parse(await readFile(f, 'utf8')) as
        SignedCheckpoint | { checkpoint: SignedCheckpoint };
      trusted.push('checkpoint' in parsed ? parsed.checkpoint : parsed);
    }
  } catch (err) {
    io.err(`cannot read key, keyring or checkpoint: ${(err as Error).message}`);
    return 2;
  }
  let result: ExportVerification;
  try {
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    result = await verifyExport(lines, { ...(keyring ? { keyring } : {}), trustedCheckpoints: trusted });
  } catch (err) {
    io.err(`cannot verify ${file}: ${(err as Error).message}`);
    return 1;
  }
  if (json) io.out(JSON.stringify(result));
  else if (result.ok) {
    io.out(
      `OK chain ${result.chain}: ${result.checked} events (seq 1..${result.lastSeq}) verified; ` +
        `${result.checkpointsVerified} checkpoint(s) ${keyring ? `signature-checked against ${keyring.size} trusted key(s)` : 'NOT signature-checked (--no-signature-check)'}, ` +
        `latest at seq ${result.checkpointSeq}`,
    );
    if (result.checkpointSeq === 0)
      io.out('WARNING: no checkpoint: a truncated or fully rehashed log cannot be detected');
  } else {
    io.out(`TAMPERED chain ${result.chain}: first bad seq ${result.firstBrokenSeq} (${result.reason})`);
    io.out(`  ${result.detail}`);
    io.out(`  ${result.checked} events verified before it`);
  }
  return result.ok ? 0 : 1;
}
