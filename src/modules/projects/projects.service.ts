import { randomBytes } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Principal } from '../../common/auth/principal.js';
import { roleAtLeast } from '../../common/auth/roles.js';
import { Clock } from '../../common/clock.js';
import { CommonError } from '../../common/errors/domain-error.js';
import { newId } from '../../common/ids.js';
import type { SchemaViolation } from '../../common/json-schema.js';
import type { Page } from '../../common/pagination/pagination.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { hashApiKey, hashMatches } from '../accounts/accounts.contract.js';
import { AccountsService } from '../accounts/accounts.service.js';
import { ApiKeysService } from '../accounts/api-keys.service.js';
import { EventIntakeService } from '../events/event-intake.service.js';
import { JobsService } from '../jobs/jobs.service.js';
import { RoutesService } from '../events/routes.service.js';
import { ConnectionsService } from '../providers/connections.service.js';
import { syncCron, syncEveryProblem } from '../providers/providers.contract.js';
import { ProvidersService } from '../providers/providers.service.js';
import { SchedulesService } from '../schedules/schedules.service.js';
import { ProjectError } from './project.error.js';
import { ProjectStore } from './project.store.js';
import type { Invitation, Member, Project, ProjectToken, ProviderSettings } from './project.store.js';

export const PROJECT_INVITATION_EVENT = 'project.invitation';
/** The job that brings a project's records up to date from one of its providers. */
export const PROJECT_SYNC_JOB_TYPE = 'projects.sync';
/** Project tokens start with this, so the authentication knows whose they are. */
const TOKEN_MARK = 'jpt_';
const TOKEN_PREFIX_LENGTH = 12;
/** An invitation can be accepted this long. */
const INVITATION_DAYS = 7;
/** lastUsedAt is a hint for people: written at most this often per token. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** What adding a member did: the account joined, or, without an account of that email, an invitation. */
export type MemberAdded = { member: Member } | { invitation: Invitation };

/**
 * Projects and who may act in them. An account sees only the projects it is a member of (an admin
 * all of them); another project is not found. Managers add and remove members and tokens. A
 * project token acts as the member who made it, only inside its project (the roles guard keeps it
 * there), and stops when revoked or when that account leaves the project.
 */
@Injectable()
export class ProjectsService implements OnModuleInit {
  private readonly logger = new Logger(ProjectsService.name);

  constructor(
    private readonly store: ProjectStore,
    private readonly accounts: AccountsService,
    private readonly apiKeys: ApiKeysService,
    private readonly events: EventIntakeService,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    private readonly providers: ProvidersService,
    private readonly connections: ConnectionsService,
    private readonly schedules: SchedulesService,
    private readonly routes: RoutesService,
    private readonly jobs: JobsService,
  ) {}

  onModuleInit(): void {
    this.apiKeys.acceptKeys(TOKEN_MARK, (key) => this.authenticate(key));
  }

  async create(caller: Principal, input: { name: string; slug?: string }): Promise<Project> {
    const now = this.clock.now();
    const project: Project = {
      id: newId(now.getTime()),
      name: input.name.trim(),
      slug: input.slug ?? slugOf(input.name),
      createdAt: now,
      updatedAt: now,
    };
    await this.serializer.transaction(async (manager) => {
      if ((await this.store.insert(manager, project)) === 'slug-taken')
        throw new ProjectError('SLUG_TAKEN', `a project has the slug ${project.slug} already`);
      await this.store.putMember(manager, {
        projectId: project.id,
        accountId: caller.accountId,
        manager: true,
        joinedAt: now,
      });
    });
    return project;
  }

  list(caller: Principal, limit: number, cursor?: string): Promise<Page<Project>> {
    return this.store.page(roleAtLeast(caller.role, 'admin') ? null : caller.accountId, limit, cursor);
  }

  /** The project, when the caller is a member of it or an admin. */
  async get(caller: Principal, id: string): Promise<Project> {
    const project = await this.store.find(id);
    if (!project || !(await this.mayRead(caller, id)))
      throw new ProjectError('PROJECT_NOT_FOUND', `no project with id ${id}`);
    return project;
  }

  async remove(caller: Principal, id: string): Promise<void> {
    await this.assertManager(caller, id);
    await this.serializer.transaction(async (manager) => {
      await this.keepInStep(manager, id, null, null);
      await this.store.remove(manager, id);
    });
  }

  async members(caller: Principal, id: string): Promise<Member[]> {
    await this.get(caller, id);
    return this.store.members(id);
  }

  /**
   * Adds the account of that email (or changes whether it manages); without such an account,
   * invites the email: `project.invitation` carries the single-use token that accepts it.
   */
  async addMember(
    caller: Principal,
    id: string,
    input: { email: string; manager?: boolean },
  ): Promise<MemberAdded> {
    const project = await this.assertManager(caller, id);
    const now = this.clock.now();
    const account = await this.accounts.findByEmail(input.email);
    if (account) {
      const member = { projectId: id, accountId: account.id, manager: input.manager ?? false, joinedAt: now };
      await this.serializer.transaction(async (manager) => {
        const before = await this.store.member(id, account.id, manager);
        if (before?.manager && !member.manager) await this.assertAnotherManager(manager, id);
        await this.store.putMember(manager, member);
      });
      return { member: (await this.store.member(id, account.id))! };
    }
    const token = randomBytes(32).toString('base64url');
    const invitation: Invitation = {
      id: newId(now.getTime()),
      projectId: id,
      email: input.email.trim().toLowerCase(),
      manager: input.manager ?? false,
      tokenHash: hashApiKey(token),
      invitedBy: caller.accountId,
      expiresAt: new Date(now.getTime() + INVITATION_DAYS * 86_400_000),
      acceptedAt: null,
      acceptedBy: null,
      createdAt: now,
    };
    await this.serializer.transaction(async (manager) => {
      await this.store.insertInvitation(manager, invitation);
      await this.events.emitOwn(manager, [
        {
          name: PROJECT_INVITATION_EVENT,
          data: {
            invitationId: invitation.id,
            projectId: id,
            projectName: project.name,
            email: invitation.email,
            manager: invitation.manager,
            invitedBy: caller.accountId,
            expiresAt: invitation.expiresAt.toISOString(),
            token,
          },
        },
      ]);
    });
    return { invitation };
  }

  async removeMember(caller: Principal, id: string, accountId: string): Promise<void> {
    await this.assertManager(caller, id);
    await this.serializer.transaction(async (manager) => {
      const member = await this.store.member(id, accountId, manager);
      if (!member) throw new ProjectError('MEMBER_NOT_FOUND', `account ${accountId} is not a member`);
      if (member.manager) await this.assertAnotherManager(manager, id);
      await this.store.removeMember(manager, id, accountId);
    });
  }

  /** The signed-in account accepts an invitation made to its email: it joins, and the token is spent. */
  async accept(caller: Principal, token: string): Promise<Member> {
    const account = await this.accounts.get(caller.accountId);
    const now = this.clock.now();
    return this.serializer.transaction(async (manager) => {
      const invitation = await this.store.invitationByHash(manager, hashApiKey(token));
      if (!invitation) throw new ProjectError('INVITATION_NOT_FOUND', 'no invitation has this token');
      if (invitation.acceptedAt)
        throw new ProjectError('INVITATION_USED', 'this invitation was accepted already');
      if (invitation.expiresAt <= now)
        throw new ProjectError('INVITATION_EXPIRED', 'this invitation has expired');
      if (invitation.email !== account.email.toLowerCase())
        throw new ProjectError('INVITATION_NOT_YOURS', 'this invitation is for another email address');
      if (!(await this.store.useInvitation(manager, invitation.id, account.id, now)))
        throw new ProjectError('INVITATION_USED', 'this invitation was accepted already');
      const member = {
        projectId: invitation.projectId,
        accountId: account.id,
        manager: invitation.manager,
        joinedAt: now,
      };
      await this.store.putMember(manager, member);
      return (await this.store.member(invitation.projectId, account.id, manager))!;
    });
  }

  /** A new token acting as the caller inside the project; its key is in the answer and nowhere else. */
  async createToken(
    caller: Principal,
    id: string,
    label: string,
  ): Promise<{ token: ProjectToken; key: string }> {
    await this.assertManager(caller, id);
    const key = TOKEN_MARK + randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const token: ProjectToken = {
      id: newId(now.getTime()),
      projectId: id,
      accountId: caller.accountId,
      label: label.trim(),
      prefix: key.slice(0, TOKEN_PREFIX_LENGTH),
      hash: hashApiKey(key),
      revokedAt: null,
      lastUsedAt: null,
      createdAt: now,
    };
    await this.serializer.transaction((manager) => this.store.insertToken(manager, token));
    return { token, key };
  }

  async tokens(caller: Principal, id: string): Promise<ProjectToken[]> {
    await this.get(caller, id);
    return this.store.tokens(id);
  }

  /** Revoking is immediate: the token's next request is refused. */
  async revokeToken(caller: Principal, id: string, tokenId: string): Promise<ProjectToken> {
    await this.assertManager(caller, id);
    const token = await this.serializer.transaction((manager) =>
      this.store.revokeToken(manager, id, tokenId, this.clock.now()),
    );
    if (!token) throw new ProjectError('TOKEN_NOT_FOUND', `project ${id} has no token ${tokenId}`);
    return token;
  }

  async providerSettings(caller: Principal, id: string, provider?: string): Promise<ProviderSettings[]> {
    await this.get(caller, id);
    const found = await this.store.providerSettings(id, provider);
    if (provider !== undefined && found.length === 0)
      throw new ProjectError('SETTINGS_NOT_FOUND', `project ${id} has no settings for provider ${provider}`);
    return found;
  }

  /**
   * Sets what a project tells a provider (one set per project and provider), checked against the
   * provider's project-settings schema; a `connectionId` must name a connection of a member.
   */
  async putProviderSettings(
    caller: Principal,
    id: string,
    providerKey: string,
    settings: unknown,
  ): Promise<ProviderSettings> {
    await this.assertManager(caller, id);
    const provider = this.providers.find(providerKey);
    if (!provider)
      throw invalidSettings([{ path: '/provider', message: `no provider has the key ${providerKey}` }]);
    const problems = provider.validateProjectSettings(settings);
    if (problems === null)
      throw invalidSettings([
        { path: '/provider', message: `provider ${providerKey} takes no project settings` },
      ]);
    const connectionId = (settings as { connectionId?: unknown }).connectionId;
    if (problems.length === 0 && typeof connectionId === 'string')
      problems.push(...(await this.connectionProblems(id, connectionId)));
    const syncEvery = (settings as { syncEvery?: unknown }).syncEvery;
    const syncProblem = typeof syncEvery === 'string' ? syncEveryProblem(syncEvery) : null;
    if (syncProblem) problems.push({ path: '/settings/syncEvery', message: syncProblem });
    if (problems.length > 0) throw invalidSettings(problems);
    const put = {
      provider: providerKey,
      settings: settings as Record<string, unknown>,
      updatedAt: this.clock.now(),
    };
    await this.serializer.transaction(async (manager) => {
      await this.store.putProviderSettings(manager, id, put);
      await this.keepInStep(manager, id, providerKey, put.settings);
    });
    return put;
  }

  /**
   * Asks each of the project's providers that can sync (or the one named) to bring its records up
   * to date from the tool, as one `projects.sync` job each. Any member may ask.
   */
  async requestSync(
    caller: Principal,
    id: string,
    provider?: string,
  ): Promise<{ provider: string; jobId: string }[]> {
    await this.get(caller, id);
    const syncing = (await this.store.providerSettings(id, provider)).filter(
      (found) => typeof this.providers.find(found.provider)?.instance.syncProject === 'function',
    );
    if (syncing.length === 0)
      throw new ProjectError(
        'NOTHING_TO_SYNC',
        `project ${id} has no settings for a provider that syncs${provider ? ` named ${provider}` : ''}`,
      );
    const jobs = await this.jobs.enqueueMany(
      syncing.map((found) => ({
        type: PROJECT_SYNC_JOB_TYPE,
        payload: { projectId: id, provider: found.provider },
      })),
    );
    return syncing.map((found, index) => ({ provider: found.provider, jobId: jobs[index].id }));
  }

  async removeProviderSettings(caller: Principal, id: string, provider: string): Promise<void> {
    await this.assertManager(caller, id);
    const removed = await this.serializer.transaction(async (manager) => {
      await this.keepInStep(manager, id, provider, null);
      return this.store.removeProviderSettings(manager, id, provider);
    });
    if (!removed)
      throw new ProjectError('SETTINGS_NOT_FOUND', `project ${id} has no settings for provider ${provider}`);
  }

  /**
   * Keeps what a project's settings for a provider ask for, in the settings' transaction: a
   * schedule `project:<id>:<provider>:sync` firing `projects.sync` every `syncEvery`, and the
   * routes the provider wants (`project:<id>:<provider>:<key>`). Null settings remove them; a null
   * provider, every provider's of the project.
   */
  private async keepInStep(
    manager: EntityManager,
    id: string,
    providerKey: string | null,
    settings: Record<string, unknown> | null,
  ): Promise<void> {
    const prefix = providerKey === null ? `project:${id}:` : `project:${id}:${providerKey}:`;
    const provider = providerKey === null ? undefined : this.providers.find(providerKey);
    const syncEvery = settings?.syncEvery;
    const schedules =
      typeof syncEvery === 'string' && provider?.instance.syncProject
        ? [
            {
              name: `${prefix}sync`,
              cron: syncCron(syncEvery),
              timezone: 'UTC',
              jobType: PROJECT_SYNC_JOB_TYPE,
              payload: { projectId: id, provider: providerKey },
              overlap: 'skip' as const,
              catchUp: 'skip' as const,
            },
          ]
        : [];
    await this.schedules.reconcile(manager, prefix, schedules);
    const routes = settings ? (provider?.instance.projectRoutes?.(id, settings) ?? []) : [];
    await this.routes.reconcile(
      manager,
      prefix,
      routes.map(({ key, ...route }) => ({
        ...route,
        name: `${prefix}${key}`,
        jobOptions: {},
        enabled: true,
      })),
    );
  }

  /** A project uses only its members' connections. */
  private async connectionProblems(projectId: string, connectionId: string): Promise<SchemaViolation[]> {
    const connection = await this.connections.find(connectionId);
    if (connection && (await this.store.member(projectId, connection.accountId))) return [];
    return [
      {
        path: '/settings/connectionId',
        message: `no member of the project has a connection ${connectionId}`,
      },
    ];
  }

  /** A project token's request: it acts as the member who made it, inside its project only. */
  private async authenticate(key: string): Promise<Principal> {
    const found = (await this.store.tokenCandidates(key.slice(0, TOKEN_PREFIX_LENGTH))).find((token) =>
      hashMatches(key, token.hash),
    );
    if (!found) throw new CommonError('UNAUTHENTICATED', 'invalid project token');
    if (found.revokedAt) throw new CommonError('UNAUTHENTICATED', 'this project token has been revoked');
    if (!(await this.store.member(found.projectId, found.accountId)))
      throw new CommonError('UNAUTHENTICATED', 'the account of this project token is no longer a member');
    const now = this.clock.now();
    if (!found.lastUsedAt || now.getTime() - found.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
      try {
        await this.serializer.transaction((manager) => this.store.touchToken(manager, found.id, now));
      } catch (error) {
        this.logger.warn(
          `could not record the use of project token ${found.id}: ${(error as Error).message}`,
        );
      }
    }
    return { accountId: found.accountId, role: 'viewer', apiKeyId: found.id, projectId: found.projectId };
  }

  /** A project keeps at least one manager: the last one can neither leave nor stop managing. */
  private async assertAnotherManager(manager: EntityManager, id: string): Promise<void> {
    if ((await this.store.countManagers(manager, id)) <= 1)
      throw new ProjectError(
        'LAST_MANAGER',
        'the project’s last manager must stay one; make another manager first',
      );
  }

  private async mayRead(caller: Principal, id: string): Promise<boolean> {
    return roleAtLeast(caller.role, 'admin') || (await this.store.member(id, caller.accountId)) !== null;
  }

  /** The project, when the caller manages it (or is an admin); a member who does not manage is refused. */
  private async assertManager(caller: Principal, id: string): Promise<Project> {
    const project = await this.get(caller, id);
    if (roleAtLeast(caller.role, 'admin') && caller.projectId === undefined) return project;
    const member = await this.store.member(id, caller.accountId);
    if (!member?.manager)
      throw new ProjectError('NOT_A_MANAGER', 'only a manager of the project may do this');
    return project;
  }
}

function invalidSettings(problems: SchemaViolation[]): ProjectError {
  return new ProjectError(
    'INVALID_PROVIDER_SETTINGS',
    problems.map((problem) => `${problem.path}: ${problem.message}`).join('; '),
    problems,
  );
}

/** `Shop Redesign 2027` -> `shop-redesign-2027`. */
function slugOf(name: string): string {
  return (
    name
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 100) || 'project'
  );
}
