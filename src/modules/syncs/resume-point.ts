import { createHash } from 'node:crypto';
import { stableJson } from '../../common/stable-json.js';
import { ProviderError } from '../providers/providers.contract.js';

/**
 * What a type's page tokens were built from besides the cursor and date range: a hash of the
 * connection's config. Where the config keeps one entry per type under `streams` (the http
 * provider's), the other types' entries are left out, so editing another stream keeps this one's
 * place. Any other change counts: at worst the run reads again from its checkpoint.
 */
export function readConfigKey(config: Record<string, unknown>, type: string): string {
  const { streams } = config;
  const relevant =
    typeof streams === 'object' && streams !== null && !Array.isArray(streams)
      ? { ...config, streams: { [type]: (streams as Record<string, unknown>)[type] ?? null } }
      : config;
  return createHash('sha256').update(stableJson(relevant)).digest('hex');
}

/**
 * What partners answer a page token they no longer honour (expired, or forgotten since it was
 * given): 400 or 422, an invalid parameter; 404 or 410, gone; 409, a listing to start again.
 * Authentication, time-outs and rate limits are not about the token.
 */
const TOKEN_REFUSED_STATUSES = new Set([400, 404, 409, 410, 422]);

/** Whether a partner call failed with an answer that says its page token cannot be used. */
export function refusesPageToken(error: unknown): error is ProviderError {
  return (
    error instanceof ProviderError && error.status !== undefined && TOKEN_REFUSED_STATUSES.has(error.status)
  );
}
