/* global process, console */
// Builds the envelope's opt-in N-API addon (native/envelope_native.c): only when asked, with
// `pnpm --filter @byok/envelope build:native` (never by `pnpm install`), so a default install
// compiles and loads no native code. The service uses it only with ENVELOPE_BACKEND=native.
// .ci/run builds it, and CI fails without it (test/backend.test.ts); so does a failed build here.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const nodeGyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
const args = [nodeGyp, 'rebuild', '--release', '--loglevel=warn'];
// Offline machines: build against the headers installed beside this node (as Debian's and
// the official tarballs ship them) instead of downloading them.
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const result = spawnSync(process.execPath, args, { cwd: packageDir, stdio: ['ignore', 'ignore', 'inherit'] });
if (result.status === 0) {
  console.log(
    '@byok/envelope: native addon built (OpenSSL through N-API); select it with ENVELOPE_BACKEND=native',
  );
} else {
  console.error(
    '@byok/envelope: native addon NOT built: needs python3, make, a C compiler and Node headers.',
  );
  process.exit(1);
}
