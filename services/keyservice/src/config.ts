import type { KmsModuleConfigs } from '@byok/kms';
import { z } from 'zod';
import { abuseSettings } from './config/abuse-settings.js';
import { aiMeteringSettings, aiSettings } from './config/ai-settings.js';
import { auditSettings } from './config/audit-settings.js';
import { kmsSettings } from './config/kms-settings.js';
import { listenerSettings } from './config/listener-settings.js';
import { operationsSettings } from './config/operations-settings.js';
import { runtimeSettings } from './config/runtime-settings.js';
import { isSetting, type Parsed, type SettingTree } from './config/setting.js';
import { kmsModules } from './kms-modules.js';
import { productionProblems, tlsProblems } from './production-checks.js';

/**
 * Every setting of the service, each stated once: key in {@link Config}, variable name, type,
 * bound, default and description. Provider settings come from each registered KMS module's own
 * schema (see kms-modules.ts). This module is the only reader of `process.env`; no secret has a default.
 */
const SETTINGS = {
  ...listenerSettings,
  ...runtimeSettings,
  kms: kmsSettings,
  ...auditSettings,
  ...abuseSettings,
  ...operationsSettings,
  aiMetering: aiMeteringSettings,
  ai: aiSettings,
} satisfies SettingTree;

/** The parsed, frozen configuration: its shape is inferred from {@link SETTINGS}. */
export type Config = Parsed<typeof SETTINGS> & {
  /** `mode === 'production'` (BYOK_MODE is not `development`). */
  readonly production: boolean;
  readonly kms: {
    /** Each registered KMS module's settings, parsed by its own schema, by module name. */
    readonly modules: KmsModuleConfigs;
    /** The enabled providers: `KMS_PROVIDERS`, else every module whose required settings are set. */
    readonly providers: string[];
  };
};

/** A configuration that failed validation; `problems` lists each bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

function problemsOf(error: z.ZodError, prefix: string[] = []): string[] {
  return error.issues.map((i) => `${[...prefix, ...i.path.map(String)].join('.')}: ${i.message}`);
}

function readTree(tree: SettingTree, env: Record<string, string | undefined>, problems: string[]) {
  const out: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(tree)) {
    if (!isSetting(node)) {
      out[key] = readTree(node, env, problems);
      continue;
    }
    const r = node.schema.safeParse(env[node.env]);
    if (r.success) out[key] = r.data;
    else problems.push(...problemsOf(r.error, [node.env]));
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Every variable the service reads, with its description: the service's own settings, then each module's. */
export function describeSettings(): { env: string; description: string | undefined }[] {
  const out: { env: string; description: string | undefined }[] = [];
  const walk = (tree: SettingTree): void => {
    for (const node of Object.values(tree)) {
      if (isSetting(node)) out.push({ env: node.env, description: node.schema.description });
      else walk(node);
    }
  };
  walk(SETTINGS);
  for (const m of kmsModules.modules()) {
    const shape =
      m.configSchema instanceof z.ZodObject ? (m.configSchema.shape as Record<string, z.ZodType>) : {};
    for (const [env, schema] of Object.entries(shape)) out.push({ env, description: schema.description });
  }
  return out;
}

/** Parses the environment once; throws {@link ConfigError} listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const values = readTree(SETTINGS, env, problems) as Parsed<typeof SETTINGS>;
  const modules: Record<string, unknown> = {};
  for (const m of kmsModules.modules()) {
    const r = m.configSchema.safeParse(env);
    if (r.success) modules[m.name] = r.data;
    else problems.push(...problemsOf(r.error));
  }
  // No early return on a malformed value: the checks below still run, so one refusal lists all.

  const production = values.mode === 'production';
  const missing = (name: string) =>
    name in modules ? (kmsModules.module(name)?.missingSettings?.(modules[name]) ?? []) : [];
  // Production never enables a development-only module by default; naming one is refused below.
  const enabled =
    values.kms.providers ??
    kmsModules
      .names()
      .filter(
        (name) => missing(name).length === 0 && !(production && kmsModules.module(name)?.developmentOnly),
      );
  const unknown = enabled.filter((p) => !kmsModules.has(p));
  if (unknown.length) problems.push(`KMS_PROVIDERS: unknown provider(s) ${unknown.join(', ')}`);
  for (const name of enabled) {
    const m = kmsModules.module(name);
    if (production && m?.developmentOnly)
      problems.push(`KMS_PROVIDERS: the ${m.title} (${name}) cannot be enabled in production`);
    if (missing(name).length) problems.push(`KMS_PROVIDERS: ${name} needs ${missing(name).join(', ')}`);
  }
  problems.push(...tlsProblems(values.tls));
  if (production) problems.push(...productionProblems(values, modules));
  if (
    problems.length &&
    production &&
    env.BYOK_MODE === undefined &&
    /^(development|test)$/.test(values.nodeEnv ?? '')
  )
    problems.push(
      `BYOK_MODE: not set, so this start is production; NODE_ENV=${values.nodeEnv} no longer selects development (set BYOK_MODE=development)`,
    );
  if (problems.length) throw new ConfigError(problems);
  return deepFreeze({ ...values, production, kms: { ...values.kms, providers: enabled, modules } });
}
