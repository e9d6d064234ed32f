import { Injectable } from '@nestjs/common';
import { secretsOf } from '../credentials.js';
import { authHeaders } from '../http/http.provider.js';
import { maskUrl } from '../http/mask-url.js';
import { PartnerHttpClient } from '../http/partner-http.client.js';
import type { PartnerRequest, QueryValue } from '../http/partner-http.client.js';
import { ProviderError } from '../http/provider-error.js';
import type { ProjectContext, ProjectFeature, ProjectFeatureInput } from '../project-provider.js';
import { Provider } from '../provider.decorator.js';
import type { ConnectionProvider, OpenedCredentials, ProviderConnection } from '../provider.decorator.js';
import { RATE_LIMIT_SCHEMA } from '../config-schemas.js';

export const TARGETPROCESS_PROVIDER_KEY = 'targetprocess';

/** A connection's config for the `targetprocess` provider. */
export interface TargetprocessConfig {
  /** Where the TargetProcess site is, such as `https://acme.tpondemand.com`; `/api/v1` goes after it. */
  baseUrl: string;
}

/** What a project tells the provider. */
export interface TargetprocessSettings {
  connectionId: string;
  /** TargetProcess project ids whose items become features; none: every project the token sees. */
  projectIds?: number[];
  syncEvery?: string;
  /** The state a feature gets when its item is gone from TargetProcess; default `closed`. */
  closedState?: string;
}

const TARGETPROCESS_CONFIG_SCHEMA = {
  type: 'object',
  required: ['baseUrl'],
  additionalProperties: false,
  properties: {
    baseUrl: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://[^?#]*$',
      maxLength: 2000,
      description: 'The TargetProcess site, such as https://acme.tpondemand.com',
    },
    rateLimit: RATE_LIMIT_SCHEMA,
  },
};

const TARGETPROCESS_PROJECT_SETTINGS_SCHEMA = {
  type: 'object',
  required: ['connectionId'],
  additionalProperties: false,
  properties: {
    connectionId: { type: 'string', format: 'uuid' },
    projectIds: {
      type: 'array',
      maxItems: 200,
      uniqueItems: true,
      items: { type: 'integer', minimum: 1 },
    },
    // The projects module checks its value and keeps the schedule.
    syncEvery: { type: 'string', maxLength: 100 },
    closedState: { type: 'string', minLength: 1, maxLength: 100 },
  },
};

const DEFAULT_CLOSED_STATE = 'closed';
const PAGE_SIZE = 100;
/** 100,000 items a collection: a partner whose `Next` never ends cannot keep a job going for ever. */
const MAX_PAGES = 1000;
const FIELDS = '[Id,Name,EntityState,Owner,Project]';

/** The collections that become features, and the type each one's items get. */
const COLLECTIONS = [
  { name: 'UserStories', type: 'story' },
  { name: 'Bugs', type: 'bug' },
  { name: 'Features', type: 'feature' },
] as const satisfies readonly { name: string; type: ProjectFeatureInput['type'] }[];

/** An item of a collection as `include=[Id,Name,EntityState,Owner,Project]` returns it. */
interface TpItem {
  Id?: unknown;
  Name?: unknown;
  EntityState?: { Name?: unknown } | null;
  Owner?: { Login?: unknown; FirstName?: unknown; LastName?: unknown } | null;
}

/**
 * TargetProcess (REST API v1) as a planning tool: a project's sync pulls its UserStories, Bugs and
 * Features into the project's features, page by page (`take`/`skip`, then the `Next` link each page
 * gives), writing only what changed. An item the pull no longer sees (deleted, or moved out of the
 * project's TargetProcess projects) gets the closed state once; a pull that did not finish closes
 * nothing, so a failure never looks like deletions. A `bearer` credential is a personal access
 * token, which TargetProcess takes only as the `access_token` query parameter; `basic` is a login
 * and password.
 */
@Injectable()
@Provider({
  key: TARGETPROCESS_PROVIDER_KEY,
  title: 'TargetProcess',
  kinds: ['planning'],
  configSchema: TARGETPROCESS_CONFIG_SCHEMA,
  credentialTypes: ['bearer', 'basic'],
  capabilities: [],
  projectSettingsSchema: TARGETPROCESS_PROJECT_SETTINGS_SCHEMA,
})
export class TargetprocessProvider implements ConnectionProvider {
  constructor(private readonly http: PartnerHttpClient) {}

  /** One user story must come back as a collection. */
  async check(connection: ProviderConnection, signal: AbortSignal): Promise<void> {
    const response = await this.http.request({
      ...collectionRequest(connection, 'UserStories', { take: 1, include: '[Id]' }),
      signal,
      secrets: secretsOf(connection.credentials),
    });
    itemsOf(response.body, `${baseOf(connection)}/api/v1/UserStories`);
  }

  async syncProject(ctx: ProjectContext): Promise<void> {
    const connection = ctx.connection;
    if (!connection) throw new ProviderError('PERMANENT', `project ${ctx.projectId} names no connection`);
    const settings = ctx.settings as unknown as TargetprocessSettings;
    const closedState = settings.closedState ?? DEFAULT_CLOSED_STATE;
    const known = new Map((await ctx.records.features()).map((feature) => [feature.externalId, feature]));
    const seen = new Set<string>();
    let complete = true;
    let written = 0;
    for (const { name, type } of COLLECTIONS) {
      const pulled = await this.pull(ctx, connection, name, settings.projectIds);
      complete &&= pulled.complete;
      for (const item of pulled.items) {
        const feature = featureOf(item, type, baseOf(connection));
        seen.add(feature.externalId);
        if (sameFeature(known.get(feature.externalId), feature)) continue;
        await ctx.records.upsertFeature(feature);
        written++;
      }
    }
    let closed = 0;
    if (complete) {
      for (const feature of known.values()) {
        if (seen.has(feature.externalId) || feature.state === closedState) continue;
        const { externalId, type, title, owner, url } = feature;
        await ctx.records.upsertFeature({ externalId, type, title, owner, url, state: closedState });
        closed++;
      }
    }
    await ctx.log(
      `targetprocess: ${seen.size} items, ${written} written, ${closed} closed` +
        (complete ? '' : '; some items could not be read, so none was closed'),
    );
  }

  /** Every item of one collection; `complete` is false when an item could not be read. */
  private async pull(
    ctx: ProjectContext,
    connection: ProviderConnection,
    collection: string,
    projectIds: number[] | undefined,
  ): Promise<{ items: ReadItem[]; complete: boolean }> {
    const where = projectIds?.length ? `(Project.Id in (${projectIds.join(',')}))` : undefined;
    const first = collectionRequest(connection, collection, {
      take: PAGE_SIZE,
      skip: 0,
      include: FIELDS,
      where,
    });
    const items: ReadItem[] = [];
    let complete = true;
    let request: PartnerRequest | null = first;
    for (let page = 0; request; page++) {
      if (page >= MAX_PAGES) {
        throw new ProviderError(
          'PERMANENT',
          `${collection} went on past ${MAX_PAGES} pages; stopped, in case its Next links loop`,
        );
      }
      const response = await ctx.request(request);
      const { items: raw, next } = itemsOf(
        response.body,
        maskUrl(request.url, secretsOf(connection.credentials)),
      );
      for (const item of raw) {
        const read = readItem(item);
        if (read) items.push(read);
        else complete = false;
      }
      if (next) request = nextRequest(connection, first, next);
      // Without a Next link a full page may still have a successor: ask for it by `skip`.
      else if (raw.length >= PAGE_SIZE)
        request = { ...first, query: { ...first.query, skip: (page + 1) * PAGE_SIZE } };
      else request = null;
    }
    if (!complete)
      await ctx.log(`targetprocess: some ${collection} had no Id, Name or state and were left out`);
    return { items, complete };
  }
}

interface ReadItem {
  id: number;
  name: string;
  state: string;
  owner: string | null;
}

/** GET `<baseUrl>/api/v1/<collection>` as JSON, with the connection's credentials. */
function collectionRequest(
  connection: ProviderConnection,
  collection: string,
  query: Record<string, QueryValue>,
): PartnerRequest {
  return {
    method: 'GET',
    url: `${baseOf(connection)}/api/v1/${collection}`,
    headers: { accept: 'application/json', ...headersOf(connection.credentials) },
    query: { format: 'json', ...query, ...tokenOf(connection.credentials) },
    secrets: secretsOf(connection.credentials),
  };
}

/**
 * The page a `Next` link names. It must stay on the connection's site: a link elsewhere would take
 * the token with it. Its own `access_token`, if TargetProcess echoed one, gives way to ours.
 */
function nextRequest(connection: ProviderConnection, first: PartnerRequest, next: string): PartnerRequest {
  const secrets = secretsOf(connection.credentials);
  let url: URL;
  try {
    url = new URL(next, baseOf(connection));
  } catch {
    throw new ProviderError('PERMANENT', `a Next link is not a URL: ${maskUrl(next, secrets)}`);
  }
  if (url.origin !== new URL(baseOf(connection)).origin) {
    throw new ProviderError(
      'PERMANENT',
      `a Next link leaves ${new URL(baseOf(connection)).origin}: ${maskUrl(next, secrets)}; not followed`,
    );
  }
  url.searchParams.delete('access_token');
  if (!url.searchParams.has('format')) url.searchParams.set('format', 'json');
  return { ...first, url: url.href, query: tokenOf(connection.credentials) };
}

/** A personal access token goes in the query, the only place TargetProcess reads it. */
function tokenOf(credentials: OpenedCredentials): Record<string, QueryValue> {
  return credentials.type === 'bearer' ? { access_token: credentials.token } : {};
}

function headersOf(credentials: OpenedCredentials): Record<string, string> {
  return credentials.type === 'basic' ? authHeaders(credentials) : {};
}

function baseOf(connection: ProviderConnection): string {
  return (connection.config as unknown as TargetprocessConfig).baseUrl.replace(/\/+$/, '');
}

/** A collection's `Items` and its `Next` link; anything else is not TargetProcess answering. */
function itemsOf(body: unknown, shownUrl: string): { items: TpItem[]; next: string | null } {
  const page = body as { Items?: unknown; Next?: unknown } | null;
  if (typeof page !== 'object' || page === null || !Array.isArray(page.Items)) {
    throw new ProviderError('PERMANENT', `GET ${shownUrl} did not answer a collection with Items`);
  }
  const next = typeof page.Next === 'string' && page.Next !== '' ? page.Next : null;
  return { items: page.Items as TpItem[], next };
}

function readItem(item: TpItem): ReadItem | null {
  const state = item.EntityState?.Name;
  if (typeof item.Id !== 'number' || typeof item.Name !== 'string' || typeof state !== 'string') return null;
  return { id: item.Id, name: item.Name, state, owner: ownerOf(item.Owner) };
}

/** The owner's login, else the name TargetProcess shows; null when the item has no owner. */
function ownerOf(owner: TpItem['Owner']): string | null {
  if (!owner) return null;
  if (typeof owner.Login === 'string' && owner.Login !== '') return owner.Login;
  const name = [owner.FirstName, owner.LastName]
    .filter((part) => typeof part === 'string')
    .join(' ')
    .trim();
  return name || null;
}

/** TargetProcess numbers all its entities from one sequence, so an Id names one item across collections. */
function featureOf(
  item: ReadItem,
  type: ProjectFeatureInput['type'],
  baseUrl: string,
): Required<ProjectFeatureInput> {
  return {
    externalId: String(item.id),
    type,
    title: item.name,
    owner: item.owner,
    state: item.state,
    url: `${baseUrl}/entity/${item.id}`,
  };
}

function sameFeature(known: ProjectFeature | undefined, read: Required<ProjectFeatureInput>): boolean {
  return (
    known !== undefined &&
    known.type === read.type &&
    known.title === read.title &&
    known.owner === read.owner &&
    known.state === read.state &&
    known.url === read.url
  );
}
