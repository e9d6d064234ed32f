import type { SchemaViolation } from '../../common/json-schema.js';
import { cronProblems, everyMs } from '../schedules/schedules.contract.js';
import type { ConnectionSettings } from './connection.entity.js';
import type { RegisteredProvider } from './provider.registry.js';

/** `15m`, `2h`, `1d`: an interval as settings.syncEvery takes it. */
const INTERVAL = /^([1-9][0-9]{0,6})(m|h|d)$/;
/** A date, or a date and time in UTC or with an offset. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const SYNCS_AT_MOST_EVERY_MS = 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The schedule a `syncEvery` becomes: `15m` is `@every 15m`, a cron stays as it is. Call after
 * `settingsProblems` found none.
 */
export function syncCron(syncEvery: string): string {
  const trimmed = syncEvery.trim();
  return INTERVAL.test(trimmed) ? `@every ${trimmed}` : trimmed;
}

/**
 * Why a connection's settings are refused; each problem names its path under `/settings`. Only a
 * provider that syncs takes them: `syncEvery` is an interval of a minute or more (`15m`, `2h`,
 * `1d`, `@every 90m`) or a 5-field cron, `contentTypes` names types the connection has, each
 * with `enabled` and an ISO date range, and `storageConnectionId` is an id (whose connection the
 * caller checks).
 */
export function settingsProblems(
  provider: RegisteredProvider,
  config: Record<string, unknown>,
  settings: unknown,
): SchemaViolation[] {
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings))
    return [{ path: '/settings', message: 'must be an object' }];
  const { syncEvery, contentTypes, storageConnectionId, ...unknown } = settings as Record<string, unknown>;
  const problems: SchemaViolation[] = Object.keys(unknown).map((key) => ({
    path: `/settings/${key}`,
    message: 'is not a setting (syncEvery, contentTypes, storageConnectionId)',
  }));
  const syncing = [syncEvery, contentTypes, storageConnectionId].some((value) => value !== undefined);
  if (syncing && !provider.instance.syncTypes) {
    problems.push({ path: '/settings', message: `provider ${provider.metadata.key} does not sync` });
    return problems;
  }
  if (syncEvery !== undefined) {
    const found = typeof syncEvery === 'string' ? syncEveryProblem(syncEvery) : 'must be a string';
    if (found) problems.push({ path: '/settings/syncEvery', message: found });
  }
  if (
    storageConnectionId !== undefined &&
    (typeof storageConnectionId !== 'string' || !UUID.test(storageConnectionId))
  )
    problems.push({
      path: '/settings/storageConnectionId',
      message: 'must be the id of a storage connection',
    });
  if (contentTypes !== undefined) {
    if (typeof contentTypes !== 'object' || contentTypes === null || Array.isArray(contentTypes)) {
      problems.push({ path: '/settings/contentTypes', message: 'must be an object' });
    } else {
      const types = provider.instance.syncTypes?.({ config }) ?? [];
      for (const [type, chosen] of Object.entries(contentTypes)) {
        const at = `/settings/contentTypes/${type}`;
        if (!types.includes(type))
          problems.push({ path: at, message: `the connection has no content type ${type}` });
        else problems.push(...contentTypeProblems(at, chosen));
      }
    }
  }
  return problems;
}

export function syncEveryProblem(syncEvery: string): string | null {
  const every = everyMs(syncEvery) ?? (INTERVAL.test(syncEvery.trim()) ? everyMs(syncCron(syncEvery)) : null);
  if (every !== null)
    return every < SYNCS_AT_MOST_EVERY_MS
      ? 'syncs run at most once a minute'
      : (cronProblems(syncCron(syncEvery))[0] ?? null);
  if (syncEvery.trim().split(/\s+/).length !== 5)
    return 'must be an interval such as "15m", "2h" or "1d", or a 5-field cron';
  return cronProblems(syncEvery)[0] ?? null;
}

function contentTypeProblems(at: string, chosen: unknown): SchemaViolation[] {
  if (typeof chosen !== 'object' || chosen === null || Array.isArray(chosen))
    return [{ path: at, message: 'must be an object' }];
  const { enabled, from, to, ...unknown } = chosen as Record<string, unknown>;
  const problems: SchemaViolation[] = Object.keys(unknown).map((key) => ({
    path: `${at}/${key}`,
    message: 'is not a content type setting (enabled, from, to)',
  }));
  if (enabled !== undefined && typeof enabled !== 'boolean')
    problems.push({ path: `${at}/enabled`, message: 'must be a boolean' });
  for (const [key, value] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (
      value !== undefined &&
      (typeof value !== 'string' || !ISO_TIME.test(value) || isNaN(Date.parse(value)))
    )
      problems.push({ path: `${at}/${key}`, message: 'must be an ISO date such as 2025-01-01' });
  }
  if (
    problems.length === 0 &&
    typeof from === 'string' &&
    typeof to === 'string' &&
    Date.parse(from) > Date.parse(to)
  )
    problems.push({ path: `${at}/to`, message: 'must not be before from' });
  return problems;
}

/** The content types a sync of the connection reads: all it has, or those its settings enable. */
export function enabledTypes(types: string[], settings: ConnectionSettings): string[] {
  const chosen = settings.contentTypes;
  if (!chosen) return types;
  return types.filter((type) => chosen[type] !== undefined && chosen[type].enabled !== false);
}

/** A date range as a checkpoint remembers it: '' for all dates. */
export function rangeKey(range: { from: Date | null; to: Date | null }): string {
  return range.from || range.to ? `${range.from?.toISOString() ?? ''}/${range.to?.toISOString() ?? ''}` : '';
}

/** The dates a content type's items are read over, both ends included; null ends are open. A date `to` is its whole day. */
export function dateRange(
  settings: ConnectionSettings,
  type: string,
): { from: Date | null; to: Date | null } {
  const chosen = settings.contentTypes?.[type];
  const to = chosen?.to;
  return {
    from: chosen?.from ? new Date(chosen.from) : null,
    to: to ? new Date(to.length === 10 ? `${to}T23:59:59.999Z` : to) : null,
  };
}
