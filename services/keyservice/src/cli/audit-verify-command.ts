import { createPublicKey, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { verifyExport, type ExportVerification, type SignedCheckpoint } from '@byok/audit';

/** Where the command writes (stdout/stderr in the CLI, buffers in tests). */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const USAGE =
  'usage: byok audit verify <export.ndjson> [--public-key key.pem] [--checkpoint cp.json ...] [--json]\n' +
  '  Recomputes the hash chain of an NDJSON export offline and checks it against its signed\n' +
  '  checkpoints (and any --checkpoint saved earlier). Exit 0 = intact, 1 = tampered, 2 = usage error.';

/** Parses `audit verify` arguments and runs the offline verification; returns the exit code. */
export async function runAuditVerify(args: string[], io: Output): Promise<number> {
  let file: string | undefined;
  let keyFile: string | undefined;
  let json = false;
  const cpFiles: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--public-key') keyFile = args[++i];
    else if (a === '--checkpoint') cpFiles.push(args[++i] ?? '');
    else if (a === '--json') json = true;
    else if (a === '--help' || a === '-h') {
      io.out(USAGE);
      return 0;
    } else if (!a.startsWith('--') && file === undefined) file = a;
    else {
      io.err(`unknown argument ${a}\n${USAGE}`);
      return 2;
    }
  }
  if (!file || (args.includes('--public-key') && !keyFile)) {
    io.err(USAGE);
    return 2;
  }
  let publicKey: KeyObject | undefined;
  const trusted: SignedCheckpoint[] = [];
  try {
    if (keyFile) publicKey = createPublicKey(await readFile(keyFile, 'utf8'));
    for (const f of cpFiles) {
      const parsed = JSON.parse(await readFile(f, 'utf8')) as
        SignedCheckpoint | { checkpoint: SignedCheckpoint };
      trusted.push('checkpoint' in parsed ? parsed.checkpoint : parsed);
    }
  } catch (err) {
    io.err(`cannot read key or checkpoint: ${(err as Error).message}`);
    return 2;
  }
  let result: ExportVerification;
  try {
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    result = await verifyExport(lines, {
      ...(publicKey ? { publicKey } : {}),
      trustedCheckpoints: trusted,
    });
  } catch (err) {
    io.err(`cannot verify ${file}: ${(err as Error).message}`);
    return 1;
  }
  if (json) io.out(JSON.stringify(result));
  else if (result.ok) {
    io.out(
      `OK chain ${result.chain}: ${result.checked} events (seq 1..${result.lastSeq}) verified; ` +
        `${result.checkpointsVerified} checkpoint(s) ${publicKey ? 'signature-checked' : 'NOT signature-checked (no --public-key)'}, ` +
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
