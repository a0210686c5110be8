/**
 * Starts the three KMS emulators for local development and prints their endpoints:
 * `tsx packages/kms-emulators/src/cli.ts [--aws-port N] [--azure-port N] [--gcp-port N] [--json]`.
 * A port of `off` skips that emulator; 0 picks a free port. Stops on Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { startAwsKmsEmulator } from './aws/index.js';
import { startAzureKeyVaultEmulator } from './azure/index.js';
import { startGcpKmsEmulator } from './gcp/index.js';

interface Running {
  name: string;
  info: Record<string, unknown>;
  close: () => Promise<void>;
}

function port(value: string | undefined, fallback: number): number | undefined {
  if (value === 'off') return undefined;
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    process.stderr.write(`invalid port: ${String(value)}\n`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'aws-port': { type: 'string' },
      'azure-port': { type: 'string' },
      'gcp-port': { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: kms-emulators [--aws-port N|off] [--azure-port N|off] [--gcp-port N|off] [--host H] [--json]\n' +
        'defaults: aws 4566, azure 8443, gcp 8085; 0 picks a free port. Development only.\n',
    );
    return;
  }
  const host = values.host;
  const running: Running[] = [];
  const awsPort = port(values['aws-port'], 4566);
  if (awsPort !== undefined) {
    const aws = await startAwsKmsEmulator({ port: awsPort, host });
    const key = aws.admin.createKey({ alias: 'dev' });
    const [cred] = aws.credentials;
    running.push({
      name: 'aws',
      info: {
        endpoint: aws.endpoint,
        region: aws.region,
        accessKeyId: cred?.accessKeyId,
        secretAccessKey: cred?.secretAccessKey,
        devKeyArn: key.arn,
        devAliasArn: key.aliasArn,
        controls: `${aws.endpoint}/__emulator/<setDenied|throttleNext|setThrottleRate|setLatency|setHang|callCount|reset>`,
      },
      close: () => aws.close(),
    });
  }
  const azurePort = port(values['azure-port'], 8443);
  if (azurePort !== undefined) {
    const azure = await startAzureKeyVaultEmulator({ port: azurePort, host });
    running.push({
      name: 'azure',
      info: {
        vaultUrl: azure.url,
        authorityHost: azure.url,
        tenantId: azure.tenantId,
        clientId: azure.clientId,
        clientSecret: azure.clientSecret,
        caPem: values.json ? azure.caPem : '(use --json to print the CA certificate)',
      },
      close: () => azure.close(),
    });
  }
  const gcpPort = port(values['gcp-port'], 8085);
  if (gcpPort !== undefined) {
    const gcp = await startGcpKmsEmulator({ port: gcpPort, host });
    running.push({ name: 'gcp', info: { url: gcp.url }, close: () => gcp.close() });
  }

  if (values.json) {
    process.stdout.write(`${JSON.stringify(Object.fromEntries(running.map((r) => [r.name, r.info])))}\n`);
  } else {
    for (const r of running) {
      process.stdout.write(`${r.name}:\n`);
      for (const [k, v] of Object.entries(r.info))
        if (v !== undefined) process.stdout.write(`  ${k}: ${String(v)}\n`);
    }
    process.stdout.write('KMS emulators running (development only). Ctrl-C to stop.\n');
  }

  const stop = (): void => {
    Promise.all(running.map((r) => r.close())).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `kms-emulators failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
