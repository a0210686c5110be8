import { readFile } from 'node:fs/promises';
import { tokenRepository, type Db } from '@byok/store';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { AuditRecorder } from '../audit/audit-recorder.js';
import { hashToken, type TokenService } from './token-service.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** What {@link bootstrapAdmin} needs. */
export interface BootstrapDeps {
  config: Pick<Config, 'production' | 'bootstrapAdminToken' | 'bootstrapAdminTokenFile'>;
  db: Db;
  tokens: TokenService;
  audit: AuditRecorder;
  logger: Logger;
}

/** The operator's bootstrap token from the file (the token, or its SHA-256 hex) or the variable. */
async function operatorToken(
  config: BootstrapDeps['config'],
): Promise<{ token: string } | { tokenHash: Buffer } | undefined> {
  if (config.bootstrapAdminTokenFile) {
    const text = (await readFile(config.bootstrapAdminTokenFile, 'utf8')).trim();
    if (SHA256_HEX.test(text.toLowerCase())) return { tokenHash: Buffer.from(text.toLowerCase(), 'hex') };
    if (text.length < 32 || text.length > 256 || /\s/.test(text))
      throw new AppError(
        'VALIDATION_FAILED',
        'BOOTSTRAP_ADMIN_TOKEN_FILE must hold a token of 32 to 256 characters or its SHA-256 hex',
      );
    return { token: text };
  }
  return config.bootstrapAdminToken ? { token: config.bootstrapAdminToken } : undefined;
}

/**
 * Creates the first platform-admin token when no live one exists. Production takes it only from
 * the operator (BOOTSTRAP_ADMIN_TOKEN_FILE, or BOOTSTRAP_ADMIN_TOKEN) and never generates or prints
 * one: a token in container logs is a token for whoever reads them. Development generates one and
 * returns it, to be printed once. A token the operator gave that was revoked is not brought back.
 */
export async function bootstrapAdmin(d: BootstrapDeps): Promise<string | undefined> {
  if ((await tokenRepository.countPlatformAdmins(d.db)) > 0) return undefined;
  const given = await operatorToken(d.config);
  if (!given && d.config.production) {
    d.logger.error(
      'no platform-admin token exists: set BOOTSTRAP_ADMIN_TOKEN_FILE (the token or its SHA-256 hex) and restart',
    );
    return undefined;
  }
  const hash = given ? ('tokenHash' in given ? given.tokenHash : hashToken(given.token)) : undefined;
  if (hash && (await tokenRepository.hashExists(d.db, hash))) {
    d.logger.error('the bootstrap admin token was revoked or has expired; give a new one to bootstrap again');
    return undefined;
  }
  const issued = await d.tokens.issue(d.db, {
    name: 'bootstrap platform admin',
    role: 'platform-admin',
    tenantId: null,
    createdBy: null,
    ...(given && 'token' in given ? { token: given.token } : {}),
    ...(hash ? { tokenHash: hash } : {}),
  });
  await d.audit.record(
    {},
    { action: 'token.bootstrap', outcome: 'success', resource: `tokens/${issued.row.id}` },
  );
  return given ? undefined : issued.token;
}
