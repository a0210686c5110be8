import { z } from 'zod';
import { int, setting, type SettingTree } from './setting.js';

const upstreamUrl = (provider: string, fallback: string) =>
  z
    .string()
    .regex(
      /^https?:\/\/[^/?#@\s]+(\/[^?#\s]*)?$/,
      'expected http(s)://host[:port][/base] without credentials',
    )
    .transform((u) => u.replace(/\/$/, ''))
    .optional()
    .describe(
      `OPERATOR ONLY: base URL of the ${provider} API the AI gateway calls (default ${fallback}); always through the egress guard`,
    );

/** The AI gateway's settings (upstream URLs are the operator's to change, never a tenant's). */
export const aiSettings = {
  openaiUrl: setting('AI_UPSTREAM_OPENAI_URL', upstreamUrl('OpenAI', 'https://api.openai.com')),
  anthropicUrl: setting('AI_UPSTREAM_ANTHROPIC_URL', upstreamUrl('Anthropic', 'https://api.anthropic.com')),
  googleUrl: setting(
    'AI_UPSTREAM_GOOGLE_URL',
    upstreamUrl('Google Gemini', 'https://generativelanguage.googleapis.com'),
  ),
  azureOpenaiUrl: setting(
    'AI_UPSTREAM_AZURE_OPENAI_URL',
    upstreamUrl('Azure OpenAI', 'the endpoint stored with each secret'),
  ),
  responseTimeoutMs: setting(
    'AI_UPSTREAM_TIMEOUT_MS',
    int(100, 3_600_000, 600_000).describe(
      'deadline from sending an AI request upstream to its response headers (504 AI_UPSTREAM_TIMEOUT)',
    ),
  ),
  idleTimeoutMs: setting(
    'AI_UPSTREAM_IDLE_TIMEOUT_MS',
    int(100, 3_600_000, 120_000).describe(
      'longest silence while an AI upstream answer is arriving, between two pieces of its body (a stalled stream is cut)',
    ),
  ),
  cacheMs: setting(
    'AI_CACHE_MS',
    int(0, 60_000, 1_000).describe(
      'longest an instance serves a cached AI secret row or cap list after a change on another instance whose notification it missed (changes are otherwise seen at once); 0 = no cache',
    ),
  ),
} satisfies SettingTree;

/** Metering, caps and spike checks of the AI gateway. */
export const aiMeteringSettings = {
  pricesFile: setting(
    'AI_PRICES_FILE',
    z
      .string()
      .min(1)
      .optional()
      .describe(
        'JSON price table overriding or extending the built-in AI model prices (micro-dollars per million tokens); a bad file stops the start',
      ),
  ),
  defaultMaxOutputTokens: setting(
    'AI_DEFAULT_MAX_OUTPUT_TOKENS',
    int(1, 10_000_000, 4096).describe(
      'output tokens an AI call is reserved for when its request states no max_tokens / max_output_tokens',
    ),
  ),
  reservationTtlSeconds: setting(
    'AI_RESERVATION_TTL_SECONDS',
    int(30, 86400, 900).describe(
      "how long an unsettled spend reservation holds its amount; a crashed instance's reservations are given back after this",
    ),
  ),
  spikeCheckIntervalSeconds: setting(
    'AI_SPIKE_CHECK_INTERVAL_SECONDS',
    int(0, 3600, 300).describe('how often each instance checks AI usage for spikes (0 = off)'),
  ),
} satisfies SettingTree;
