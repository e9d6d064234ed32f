import { Injectable } from '@nestjs/common';
import type { SchemaViolation } from '../../../common/json-schema.js';
import { AppConfig } from '../../../config/app-config.js';
import { ProviderError } from '../http/provider-error.js';
import { Provider } from '../provider.decorator.js';
import type { ConnectionProvider } from '../provider.decorator.js';
import type { ProjectContext } from '../project-provider.js';
import { lsRemoteHeads, maskGitText, ownerAndName, parseGitUrl } from './git-remote.js';
import { BRANCH_PATTERNS_SCHEMA, branchPatternProblems } from '../config-schemas.js';

const REPOSITORY_PART = '^[A-Za-z0-9_.-]+$';

/**
 * What a project tells the git provider: the repositories it polls, by URL (owner and name default
 * to the URL's last two path segments), the branch patterns that give a branch its parent and
 * feature (as GitHub's), and how often to poll (`syncEvery`, checked by the projects module).
 */
const GIT_PROJECT_SETTINGS_SCHEMA = {
  type: 'object',
  required: ['repositories'],
  additionalProperties: false,
  properties: {
    repositories: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: {
        type: 'object',
        required: ['url'],
        additionalProperties: false,
        properties: {
          url: { type: 'string', minLength: 1, maxLength: 2000, description: 'What `git clone` takes' },
          owner: { type: 'string', pattern: REPOSITORY_PART, maxLength: 100 },
          name: { type: 'string', pattern: REPOSITORY_PART, maxLength: 100 },
        },
      },
    },
    branches: BRANCH_PATTERNS_SCHEMA,
    syncEvery: { type: 'string', minLength: 1, maxLength: 100 },
  },
};

interface GitRepositorySetting {
  url: string;
  owner?: string;
  name?: string;
}

/** A repository of the settings with its owner and name settled. */
interface FollowedRepository {
  url: string;
  owner: string;
  name: string;
}

/** Why a repository of the settings cannot be followed; `field` is `/url` when its URL is to blame. */
interface Refusal {
  field: '/url' | '';
  problem: string;
}

/**
 * Any git host, by polling: `git ls-remote --heads` of each repository of a project's settings,
 * on its `syncEvery` or when asked, and the project's branches made to match. It needs no
 * connection; the server's own git (its SSH keys, credential helpers) reaches the repositories,
 * over the transports `JUNCTION_GIT_PROTOCOLS` allows.
 */
@Injectable()
@Provider({
  key: 'git',
  title: 'git repositories',
  kinds: ['source-code'],
  configSchema: { type: 'object', additionalProperties: false, properties: {} },
  credentialTypes: ['none'],
  capabilities: [],
  projectSettingsSchema: GIT_PROJECT_SETTINGS_SCHEMA,
})
export class GitProvider implements ConnectionProvider {
  constructor(private readonly config: AppConfig) {}

  /**
   * Every URL must be one git reads over an allowed transport, every repository must have an owner
   * and a name (given, or from its URL), no two the same, and every branch pattern must be a
   * regular expression.
   */
  validateProjectSettings(settings: Record<string, unknown>): SchemaViolation[] {
    const problems: SchemaViolation[] = [];
    const seen = new Set<string>();
    (settings.repositories as GitRepositorySetting[]).forEach((repository, index) => {
      const at = `/settings/repositories/${index}`;
      const followed = this.follow(repository);
      if ('problem' in followed) {
        problems.push({ path: `${at}${followed.field}`, message: followed.problem });
        return;
      }
      const key = `${followed.owner}/${followed.name}`;
      if (seen.has(key)) problems.push({ path: at, message: `${key} is listed twice` });
      seen.add(key);
    });
    return [...problems, ...branchPatternProblems(settings)];
  }

  /**
   * Makes each repository's branches those `git ls-remote` lists: new and moved heads written,
   * vanished branches removed, unchanged ones left alone. A repository that cannot be read does not
   * stop the others; the sync then fails naming each, TEMPORARY if a retry may help any of them.
   */
  async syncProject(ctx: ProjectContext): Promise<void> {
    const repositories = ctx.settings.repositories as GitRepositorySetting[];
    const failures: { repository: string; error: ProviderError }[] = [];
    for (const setting of repositories) {
      const followed = this.follow(setting);
      const label =
        'problem' in followed ? maskGitText(setting.url, setting.url) : `${followed.owner}/${followed.name}`;
      try {
        // Settings stored before JUNCTION_GIT_PROTOCOLS was narrowed may name a refused transport.
        if ('problem' in followed) throw new ProviderError('PERMANENT', followed.problem);
        await this.syncRepository(ctx, followed);
      } catch (error) {
        if (ctx.signal.aborted || !(error instanceof ProviderError)) throw error;
        await ctx.log(`git ${label}: ${error.message}`);
        failures.push({ repository: label, error });
      }
    }
    if (failures.length === 0) return;
    const code = failures.some(({ error }) => error.code === 'TEMPORARY') ? 'TEMPORARY' : 'PERMANENT';
    throw new ProviderError(
      code,
      `${failures.length} of ${repositories.length} repositories could not be read: ` +
        failures.map(({ repository, error }) => `${repository}: ${error.message}`).join('; '),
    );
  }

  private async syncRepository(ctx: ProjectContext, repository: FollowedRepository): Promise<void> {
    const heads = await lsRemoteHeads(repository.url, {
      protocols: this.config.git.protocols,
      signal: ctx.signal,
    });
    const { id } = await ctx.records.upsertRepository({
      owner: repository.owner,
      name: repository.name,
      url: maskGitText(repository.url, repository.url),
    });
    const known = new Map((await ctx.records.branches(id)).map((branch) => [branch.name, branch.headSha]));
    let written = 0;
    for (const head of heads) {
      if (known.get(head.name) === head.sha) continue;
      await ctx.records.upsertBranch(id, { name: head.name, headSha: head.sha });
      written++;
    }
    const listed = new Set(heads.map((head) => head.name));
    let removed = 0;
    for (const name of known.keys()) {
      if (listed.has(name)) continue;
      await ctx.records.removeBranch(id, name);
      removed++;
    }
    await ctx.log(
      `git ${repository.owner}/${repository.name}: ${heads.length} branches, ${written} new or moved, ${removed} gone`,
    );
  }

  /** The repository with its owner and name settled, or why it cannot be followed. */
  private follow(setting: GitRepositorySetting): FollowedRepository | Refusal {
    const parsed = parseGitUrl(setting.url);
    if (typeof parsed === 'string') return { field: '/url', problem: parsed };
    const allowed = this.config.git.protocols;
    if (!allowed.includes(parsed.protocol))
      return {
        field: '/url',
        problem: `uses ${parsed.protocol}, which this server does not allow (JUNCTION_GIT_PROTOCOLS: ${allowed.join(':')})`,
      };
    const derived = ownerAndName(parsed);
    const owner = setting.owner ?? derived.owner;
    const name = setting.name ?? derived.name;
    const part = new RegExp(REPOSITORY_PART);
    if (!owner || !part.test(owner))
      return { field: '', problem: 'needs an owner: its URL does not end in one of letters, digits, _ . -' };
    if (!name || !part.test(name))
      return { field: '', problem: 'needs a name: its URL does not end in one of letters, digits, _ . -' };
    return { url: setting.url, owner, name };
  }
}
