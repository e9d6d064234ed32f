import { Injectable } from '@nestjs/common';
import type { SchemaViolation } from '../../../common/json-schema.js';
import { authHeaders } from '../http/http.provider.js';
import type { PartnerResponse } from '../http/partner-http.client.js';
import { ProviderError } from '../http/provider-error.js';
import type { ProjectContext, ProjectEvent } from '../project-provider.js';
import { Provider } from '../provider.decorator.js';
import type { ConnectionProvider } from '../provider.decorator.js';
import { eventNameSegment, INBOUND_ONLY_CONFIG_SCHEMA } from '../webhooks/webhook-config.js';
import { BRANCH_PATTERNS_SCHEMA, branchPatternProblems } from '../config-schemas.js';
import {
  hmac,
  readPayload,
  sameSignature,
  WebhookRefused,
  WebhookUnreadable,
} from '../webhooks/webhook-verification.js';
import type {
  InboundWebhook,
  VerifiedWebhook,
  WebhookVerifyContext,
} from '../webhooks/webhook-verification.js';

/** Where GitHub's REST API is, unless a connection's `apiBaseUrl` says otherwise (GitHub Enterprise, a test fake). */
export const GITHUB_API = 'https://api.github.com';
/** Branches asked for per page; GitHub allows at most 100. */
const PER_PAGE = 100;
/** A repository's branch list stops here, so a `Link` that loops cannot run forever. */
const MAX_PAGES = 100;

const GITHUB_CONFIG_SCHEMA = {
  ...INBOUND_ONLY_CONFIG_SCHEMA,
  properties: {
    ...INBOUND_ONLY_CONFIG_SCHEMA.properties,
    apiBaseUrl: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      description: `GitHub's REST API; ${GITHUB_API} unless set (GitHub Enterprise: https://<host>/api/v3)`,
    },
  },
};

/**
 * What a project tells the GitHub provider: the connection to use, the repositories it follows
 * (`owner/name`), and branch patterns that give a branch its parent and, by a `feature` group, its
 * feature: `{ "pattern": "^feature/(?<feature>[A-Z]+-[0-9]+)", "parent": "develop" }`.
 */
const GITHUB_PROJECT_SETTINGS_SCHEMA = {
  type: 'object',
  required: ['connectionId', 'repositories'],
  additionalProperties: false,
  properties: {
    connectionId: { type: 'string', format: 'uuid' },
    repositories: {
      type: 'array',
      maxItems: 200,
      uniqueItems: true,
      items: { type: 'string', pattern: '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$', maxLength: 200 },
    },
    branches: BRANCH_PATTERNS_SCHEMA,
    syncEvery: { type: 'string', description: 'Reconcile the branches this often too: "1h", or a cron' },
  },
};

/** The parts of GitHub's webhook payloads the provider reads. */
interface GithubPayload {
  ref?: string;
  ref_type?: string;
  before?: string;
  after?: string;
  created?: boolean;
  deleted?: boolean;
  repository?: { name?: string; owner?: { login?: string; name?: string }; html_url?: string };
  pull_request?: {
    merged?: boolean;
    head?: { ref?: string; repo?: { full_name?: string } | null };
    base?: { ref?: string };
  };
}

interface GithubBranch {
  name: string;
  commit: { sha: string };
}

/**
 * GitHub. Its webhooks: `X-Hub-Signature-256` is `sha256=` and the hex HMAC-SHA256 of the body
 * with the secret; the event is `github.<X-GitHub-Event>[.<action>]` (`github.push`,
 * `github.pull_request.opened`), the delivery id `X-GitHub-Delivery`. A `ping` is acknowledged and
 * not stored. GitHub's form-encoded option (`payload=<json>`) is read too.
 *
 * For projects, pushes, branch creations and deletions and merged pull requests of the
 * repositories a project follows keep its branches current; a sync lists each repository's
 * branches through the REST API (paged by `Link`) to mend what missed webhooks left, and asks the
 * compare API whether each branch is merged into its parent. A token (`bearer`) is needed for
 * private repositories and GitHub's higher rate limit.
 */
@Injectable()
@Provider({
  key: 'github',
  title: 'GitHub',
  kinds: ['source-code'],
  configSchema: GITHUB_CONFIG_SCHEMA,
  credentialTypes: ['none', 'bearer'],
  capabilities: ['webhooks'],
  projectSettingsSchema: GITHUB_PROJECT_SETTINGS_SCHEMA,
  projectEvents: ['github.push', 'github.create', 'github.delete', 'github.pull_request.closed'],
})
export class GithubProvider implements ConnectionProvider {
  /** Each branch pattern must be a regular expression; its `feature` group, if any, names the feature. */
  validateProjectSettings(settings: Record<string, unknown>): SchemaViolation[] {
    return branchPatternProblems(settings);
  }

  verifyWebhook(request: InboundWebhook, { secrets }: WebhookVerifyContext): VerifiedWebhook {
    const signature = request.headers['x-hub-signature-256'];
    if (!signature) throw new WebhookRefused('X-Hub-Signature-256 is missing');
    const signed = secrets.some((secret) =>
      sameSignature(signature.toLowerCase(), `sha256=${hmac('sha256', secret, request.rawBody, 'hex')}`),
    );
    if (!signed) throw new WebhookRefused('X-Hub-Signature-256 does not match the body');
    const event = request.headers['x-github-event'];
    if (!event) throw new WebhookUnreadable('X-GitHub-Event is missing');
    if (event === 'ping') return { kind: 'ignored', reason: 'ping' };
    const payload = readPayload(request);
    const action = (payload as { action?: unknown } | null)?.action;
    // Each part one segment, even with a dot in it; an empty action is no action.
    const name = ['github', event, ...(typeof action === 'string' && action !== '' ? [action] : [])]
      .map(eventNameSegment)
      .join('.');
    return { kind: 'event', name, deliveryId: request.headers['x-github-delivery'] ?? null, data: payload };
  }

  async onProjectEvent(ctx: ProjectContext, event: ProjectEvent): Promise<void> {
    const payload = (event.data ?? {}) as GithubPayload;
    const owner = payload.repository?.owner?.login ?? payload.repository?.owner?.name;
    const name = payload.repository?.name;
    if (!owner || !name || !followed(ctx, owner, name)) return;
    const repository = await ctx.records.upsertRepository({
      owner,
      name,
      url: payload.repository?.html_url ?? null,
    });
    switch (event.name) {
      case 'github.push': {
        const branch = branchOf(payload.ref);
        if (!branch) return;
        if (payload.deleted) await ctx.records.removeBranch(repository.id, branch);
        else if (payload.after && !/^0+$/.test(payload.after))
          await this.pushed(ctx, repository.id, owner, name, branch, payload);
        return;
      }
      case 'github.create': {
        // A new branch's payload has no commit; the push GitHub sends with it usually does, so
        // the head is asked for only when the branch is still unknown.
        if (payload.ref_type !== 'branch' || !payload.ref) return;
        const known = (await ctx.records.branches(repository.id)).some((found) => found.name === payload.ref);
        if (known) return;
        const head = await this.branch(ctx, owner, name, payload.ref);
        if (head)
          await ctx.records.upsertBranch(repository.id, { name: head.name, headSha: head.commit.sha });
        return;
      }
      case 'github.delete':
        if (payload.ref_type === 'branch' && payload.ref)
          await ctx.records.removeBranch(repository.id, payload.ref);
        return;
      case 'github.pull_request.closed': {
        const pull = payload.pull_request;
        const head = pull?.head?.ref;
        // A pull request from a fork names a branch of another repository.
        if (!pull?.merged || !head || pull.head?.repo?.full_name !== `${owner}/${name}`) return;
        await ctx.records.setMerged(repository.id, head, true);
        return;
      }
    }
  }

  /**
   * A push moves the branch to its `after`, when it continues from the head Junction knows (or
   * creates the branch). One that does not was applied out of order, or follows a push whose
   * webhook was missed: GitHub's REST API then says where the branch is now.
   */
  private async pushed(
    ctx: ProjectContext,
    repositoryId: string,
    owner: string,
    name: string,
    branch: string,
    payload: GithubPayload,
  ): Promise<void> {
    const [current] = (await ctx.records.findBranches({ name: branch })).filter(
      (found) => found.repositoryId === repositoryId,
    );
    const continues = current ? current.headSha === payload.before : payload.created === true;
    if (continues) {
      await ctx.records.upsertBranch(repositoryId, { name: branch, headSha: payload.after! });
      return;
    }
    const head = await this.branch(ctx, owner, name, branch);
    if (head) await ctx.records.upsertBranch(repositoryId, { name: branch, headSha: head.commit.sha });
    else await ctx.records.removeBranch(repositoryId, branch);
  }

  /**
   * Reconciles each followed repository with GitHub: branches it lists are upserted, branches it
   * no longer has are removed, and each branch with a parent is marked merged when the compare
   * API finds no commit of it missing from the parent.
   */
  async syncProject(ctx: ProjectContext): Promise<void> {
    for (const fullName of (ctx.settings.repositories ?? []) as string[]) {
      const [owner, name] = fullName.split('/');
      const about = await this.call(ctx, `/repos/${path(owner)}/${path(name)}`);
      const repository = await ctx.records.upsertRepository({
        owner,
        name,
        url: (about.body as { html_url?: string } | null)?.html_url ?? null,
      });
      const listed = await this.branches(ctx, owner, name);
      const known = new Map(
        (await ctx.records.branches(repository.id)).map((branch) => [branch.name, branch]),
      );
      for (const branch of listed) {
        if (known.get(branch.name)?.headSha !== branch.commit.sha)
          await ctx.records.upsertBranch(repository.id, { name: branch.name, headSha: branch.commit.sha });
        known.delete(branch.name);
      }
      for (const gone of known.keys()) await ctx.records.removeBranch(repository.id, gone);
      for (const branch of await ctx.records.branches(repository.id)) {
        if (!branch.parent || branch.parent === branch.name) continue;
        const merged = await this.mergedInto(ctx, owner, name, branch.parent, branch.name);
        if (merged !== null && merged !== branch.mergedIntoParent)
          await ctx.records.setMerged(repository.id, branch.name, merged);
      }
      await ctx.log(`github ${owner}/${name}: ${listed.length} branches`);
    }
  }

  /** Every branch of a repository, following the `Link: <...>; rel="next"` GitHub pages by. */
  private async branches(ctx: ProjectContext, owner: string, name: string): Promise<GithubBranch[]> {
    const branches: GithubBranch[] = [];
    let url: string | null = `${apiOf(ctx)}/repos/${path(owner)}/${path(name)}/branches?per_page=${PER_PAGE}`;
    for (let page = 0; url !== null; page++) {
      if (page === MAX_PAGES)
        throw new ProviderError('PERMANENT', `${owner}/${name} has more than ${MAX_PAGES} pages of branches`);
      const response = await ctx.request({ method: 'GET', url, headers: headersOf(ctx) });
      if (!Array.isArray(response.body))
        throw new ProviderError('PERMANENT', `GitHub's branch list of ${owner}/${name} is not an array`);
      branches.push(...(response.body as GithubBranch[]));
      url = nextLink(response.headers.link, apiOf(ctx));
    }
    return branches;
  }

  private async branch(
    ctx: ProjectContext,
    owner: string,
    name: string,
    branch: string,
  ): Promise<GithubBranch | null> {
    try {
      const response = await this.call(ctx, `/repos/${path(owner)}/${path(name)}/branches/${path(branch)}`);
      return response.body as GithubBranch;
    } catch (error) {
      if (error instanceof ProviderError && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  /** Whether every commit of `head` is in `base`; null when GitHub cannot compare them (a parent that does not exist). */
  private async mergedInto(
    ctx: ProjectContext,
    owner: string,
    name: string,
    base: string,
    head: string,
  ): Promise<boolean | null> {
    try {
      const response = await this.call(
        ctx,
        `/repos/${path(owner)}/${path(name)}/compare/${path(base)}...${path(head)}?per_page=1`,
      );
      const { ahead_by: ahead } = response.body as { ahead_by?: number };
      return typeof ahead === 'number' ? ahead === 0 : null;
    } catch (error) {
      if (error instanceof ProviderError && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  private call(ctx: ProjectContext, route: string): Promise<PartnerResponse> {
    return ctx.request({ method: 'GET', url: `${apiOf(ctx)}${route}`, headers: headersOf(ctx) });
  }
}

function followed(ctx: ProjectContext, owner: string, name: string): boolean {
  const wanted = `${owner}/${name}`.toLowerCase();
  return ((ctx.settings.repositories ?? []) as string[]).some((repo) => repo.toLowerCase() === wanted);
}

/** `refs/heads/feature/x` -> `feature/x`; tags and other refs -> null. */
function branchOf(ref: string | undefined): string | null {
  return ref?.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null;
}

function apiOf(ctx: ProjectContext): string {
  const base = (ctx.connection?.config.apiBaseUrl as string | undefined) ?? GITHUB_API;
  return base.replace(/\/+$/, '');
}

/** What GitHub asks of every REST call: its media type, an API version, a User-Agent, and the token. */
function headersOf(ctx: ProjectContext): Record<string, string> {
  return {
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
    'user-agent': 'junction',
    ...(ctx.connection ? authHeaders(ctx.connection.credentials) : {}),
  };
}

/** A path segment (a branch name may hold `/`, which GitHub takes as it is). */
function path(segment: string): string {
  return segment.split('/').map(encodeURIComponent).join('/');
}

/**
 * The `rel="next"` URL of a `Link` header (RFC 8288), as GitHub pages lists; it must stay on the
 * API's origin, so a partner cannot send the token elsewhere.
 */
export function nextLink(header: string | string[] | undefined, api: string): string | null {
  const value = Array.isArray(header) ? header.join(', ') : header;
  for (const part of value?.split(',') ?? []) {
    const match = /<([^>]+)>(.*)/.exec(part.trim());
    const rels = match?.[2]
      .split(';')
      .map((param) => /^\s*rel\s*=\s*"?([^"]*)"?\s*$/i.exec(param)?.[1])
      .find((rel) => rel !== undefined);
    if (!match || !rels?.split(/\s+/).includes('next')) continue;
    const next = new URL(match[1], api);
    if (next.origin !== new URL(api).origin)
      throw new ProviderError(
        'PERMANENT',
        `GitHub's next page ${next.origin} is not on ${new URL(api).origin}`,
      );
    return next.toString();
  }
  return null;
}
