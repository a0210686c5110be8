#!/usr/bin/env -S npx tsx
import { runAuditVerify } from './audit-verify-command.js';

/**
 * The `byok` command line. Today: `byok audit verify <export.ndjson> --keyring keyring.json`
 * (offline verification of an audit export; needs no server and no database).
 */
async function main(argv: string[]): Promise<number> {
  const io = {
    out: (l: string) => process.stdout.write(`${l}\n`),
    err: (l: string) => process.stderr.write(`${l}\n`),
  };
  const [group, command, ...rest] = argv;
  if (group === 'audit' && command === 'verify') return runAuditVerify(rest, io);
  io.err(
    'usage: byok audit verify <export.ndjson> (--public-key key.pem ... | --keyring keyring.json | --no-signature-check) [--checkpoint cp.json] [--json]',
  );
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`byok: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
