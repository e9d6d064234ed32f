import { Injectable } from '@nestjs/common';
import type { SchemaViolation } from '../../../common/json-schema.js';
import { templateProblems } from '../../../common/template.js';
import { secretsOf } from '../credentials.js';
import { authHeaders, joinUrl } from '../http/http.provider.js';
import { PartnerHttpClient } from '../http/partner-http.client.js';
import type { ProjectContext, ProjectEvent, ProjectRouteSpec } from '../project-provider.js';
import { Provider } from '../provider.decorator.js';
import type { ConnectionProvider, ProviderConnection } from '../provider.decorator.js';
import { INBOUND_RATE_LIMIT_SCHEMA } from '../webhooks/webhook-config.js';
import {
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
import {
  branchNameOf,
  buildFrom,
  deliveryIdOf,
  eventNameOf,
  jobNameOf,
  notificationProblem,
  pickBranch,
} from './jenkins-notification.js';
import type { JenkinsNotification } from './jenkins-notification.js';

export const JENKINS_PROVIDER_KEY = 'jenkins';
export const JENKINS_BUILD_JOB_TYPE = 'jenkins.build';

/** A connection's config for the `jenkins` provider. */
export interface JenkinsConfig {
  baseUrl: string;
}

/** What a project tells the Jenkins provider. */
export interface JenkinsProjectSettings {
  connectionId: string;
  /** The jobs whose builds belong to the project (`folder/job`); none: every job of the connection. */
  jobs?: string[];
  /** A build of the branch on every `project.branch.updated` of the project. */
  buildOnUpdate?: { job: string; parameters?: Record<string, string> };
}

/** A job's full name: folder names and the job's, joined by `/`; braces would read as templates in a route. */
const JOB_NAME = { type: 'string', pattern: '^[^/{}]+(/[^/{}]+)*$', maxLength: 500 };

const JENKINS_CONFIG_SCHEMA = {
  type: 'object',
  required: ['baseUrl'],
  additionalProperties: false,
  properties: {
    baseUrl: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      maxLength: 2000,
      description: 'Where Jenkins answers, such as https://ci.example.com/ or https://example.com/jenkins/',
    },
    inboundRateLimit: INBOUND_RATE_LIMIT_SCHEMA,
  },
};

const JENKINS_PROJECT_SETTINGS_SCHEMA = {
  type: 'object',
  required: ['connectionId'],
  additionalProperties: false,
  properties: {
    connectionId: { type: 'string', format: 'uuid' },
    jobs: { type: 'array', maxItems: 200, uniqueItems: true, items: JOB_NAME },
    buildOnUpdate: {
      type: 'object',
      required: ['job'],
      additionalProperties: false,
      properties: {
        job: JOB_NAME,
        parameters: {
          type: 'object',
          maxProperties: 50,
          propertyNames: { pattern: '^[A-Za-z0-9_.-]{1,100}$' },
          additionalProperties: { type: 'string', maxLength: 1000 },
        },
      },
    },
  },
};

/**
 * Jenkins, through its Notification plugin (JSON format) for builds and its remote access API for
 * starting them. The plugin cannot sign what it sends, so the connection's secret travels in the
 * URL it posts to: configure the connection's `webhookUrl` followed by
 * `?token=<webhookSecret, URL-encoded>`. Each phase of a build becomes the event
 * `jenkins.build.<phase>` (`queued`, `started`, `completed`, `finalized`), which projects whose
 * settings name the connection apply to their builds. `jenkins.build` jobs start builds with
 * `buildWithParameters`, using the connection's basic credentials: a user and an API token.
 */
@Injectable()
@Provider({
  key: JENKINS_PROVIDER_KEY,
  title: 'Jenkins',
  kinds: ['ci'],
  configSchema: JENKINS_CONFIG_SCHEMA,
  credentialTypes: ['basic'],
  capabilities: ['webhooks', 'actions'],
  projectSettingsSchema: JENKINS_PROJECT_SETTINGS_SCHEMA,
  projectEvents: ['jenkins.build.*'],
})
export class JenkinsProvider implements ConnectionProvider {
  constructor(private readonly http: PartnerHttpClient) {}

  /** Jenkins' API root must answer the connection's user and API token. */
  async check(connection: ProviderConnection, signal: AbortSignal): Promise<void> {
    const { baseUrl } = connection.config as unknown as JenkinsConfig;
    await this.http.request({
      method: 'GET',
      url: joinUrl(baseUrl, '/api/json'),
      headers: authHeaders(connection.credentials),
      signal,
      secrets: secretsOf(connection.credentials),
    });
  }

  /** Build parameters may take values from the `project.branch.updated` event: `{{data.feature.externalId}}`. */
  validateProjectSettings(settings: Record<string, unknown>): SchemaViolation[] {
    const { buildOnUpdate } = settings as unknown as JenkinsProjectSettings;
    return Object.entries(buildOnUpdate?.parameters ?? {}).flatMap(([name, value]) =>
      templateProblems(value, ['data']).map((message) => ({
        path: `/settings/buildOnUpdate/parameters/${name}`,
        message,
      })),
    );
  }

  verifyWebhook(request: InboundWebhook, { secrets }: WebhookVerifyContext): VerifiedWebhook {
    const token = request.query.token;
    if (!token) throw new WebhookRefused('the token query parameter is missing');
    // A secret pasted into the plugin's URL without encoding arrives with its `+` read as spaces;
    // secrets are base64, which has no spaces.
    const given = token.replaceAll(' ', '+');
    if (!secrets.some((secret) => sameSignature(given, secret)))
      throw new WebhookRefused('the token does not match the connection’s webhook secret');
    const payload = readPayload(request);
    const problem = notificationProblem(payload);
    if (problem) throw new WebhookUnreadable(`not a Notification plugin JSON body: ${problem}`);
    const notification = payload as JenkinsNotification;
    return {
      kind: 'event',
      name: eventNameOf(notification),
      deliveryId: deliveryIdOf(notification),
      data: payload,
    };
  }

  /**
   * Upserts the build a notification describes, linked to the branch it ran on and its revision.
   * Notifications come one phase at a time and may come late, so what is stored is merged in.
   */
  async onProjectEvent(ctx: ProjectContext, event: ProjectEvent): Promise<void> {
    const problem = notificationProblem(event.data);
    if (problem) {
      await ctx.log(`event ${event.id} is not a Jenkins notification: ${problem}`);
      return;
    }
    const notification = event.data as JenkinsNotification;
    const job = jobNameOf(notification);
    const { jobs } = ctx.settings as unknown as JenkinsProjectSettings;
    if (jobs && !jobs.includes(job)) return;
    const name = branchNameOf(notification.build.scm?.branch);
    const commit = notification.build.scm?.commit || null;
    const candidates = [
      ...(name === null ? [] : await ctx.records.findBranches({ name })),
      ...(commit === null ? [] : await ctx.records.findBranches({ headSha: commit })),
    ];
    const branch = pickBranch(candidates, name, commit);
    const before = await ctx.records.build(job, notification.build.number);
    const build = buildFrom(notification, job, branch?.id ?? null, before);
    if (!build) {
      await ctx.log(`${job} #${notification.build.number} ${notification.build.phase}: nothing to record`);
      return;
    }
    await ctx.records.upsertBuild(build);
  }

  /** With `buildOnUpdate`: a build of each branch of the project that gets a new head. */
  projectRoutes(projectId: string, settings: Record<string, unknown>): ProjectRouteSpec[] {
    const { connectionId, buildOnUpdate } = settings as unknown as JenkinsProjectSettings;
    if (!buildOnUpdate) return [];
    return [
      {
        key: 'build-on-update',
        eventPattern: 'project.branch.updated',
        filter: { 'data.project': projectId },
        jobType: JENKINS_BUILD_JOB_TYPE,
        payloadTemplate: {
          connectionId,
          job: buildOnUpdate.job,
          parameters: {
            BRANCH: '{{data.branch}}',
            REVISION: '{{data.headSha}}',
            ...buildOnUpdate.parameters,
          },
        },
      },
    ];
  }
}
