/** The building blocks of the settings tree: one setting per environment variable, grouped in plain objects. */
import { z } from 'zod';

/** One environment variable: its name, and the schema that parses, bounds, defaults and describes it. */
export interface Setting<S extends z.ZodType = z.ZodType> {
  readonly env: string;
  readonly schema: S;
}

/** Declares the setting read from `env`; the schema carries type, default, bounds and `.describe()`. */
export function setting<S extends z.ZodType>(env: string, schema: S): Setting<S> {
  return { env, schema };
}

export interface SettingTree {
  readonly [key: string]: Setting | SettingTree;
}

/** The values of a tree of settings, with the same nesting. */
export type Parsed<T> = {
  readonly [K in keyof T]: T[K] extends Setting<infer S> ? z.output<S> : Parsed<T[K]>;
};

export const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

export const optInt = (min: number, max: number) => z.coerce.number().int().min(min).max(max).optional();
export const optRate = z.coerce.number().min(0).max(1e6).optional();

export const rateDoc = (what: string, fallback: number) =>
  `requests per second per ${what} (token bucket; 0 = off; default ${fallback} in production, off in development)`;

export const commaList = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Whether a tree node is a setting (else a nested group). */
export const isSetting = (v: Setting | SettingTree): v is Setting => v.schema instanceof z.ZodType;
