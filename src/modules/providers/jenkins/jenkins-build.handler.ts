import { Injectable } from '@nestjs/common';
import { isUUID, IsOptional, IsString, IsUUID, Matches, ValidateBy } from 'class-validator';
import { JobHandler, JobPayloadCheck } from '../../jobs/jobs.contract.js';
import type { JobContext, JobPayloadProblem } from '../../jobs/jobs.contract.js';
import { ConnectionStore } from '../connection.store.js';
import { authHeaders, joinUrl } from '../http/http.provider.js';
import type { ResponseHeaders } from '../http/classify.js';
import { ProviderError } from '../http/provider-error.js';
import { PartnerCallsService } from '../partner-calls.service.js';
import { jobPath } from './jenkins-notification.js';
import { JENKINS_BUILD_JOB_TYPE, JENKINS_PROVIDER_KEY } from './jenkins.provider.js';
import type { JenkinsConfig } from './jenkins.provider.js';

/** Build parameters: an object whose values are all strings. */
const IsStringRecord = () =>
  ValidateBy({
    name: 'isStringRecord',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'object' &&
        value !== null &&
        !Array.isArray(value) &&
        Object.values(value).every((item) => typeof item === 'string'),
      defaultMessage: () => 'parameters must be an object whose values are strings',
    },
  });

export class JenkinsBuildPayload {
  @IsUUID()
  connectionId!: string;

  @IsString()
  @Matches(/^[^/]+(\/[^/]+)*$/, { message: 'job must be a job’s full name, its folders joined by /' })
  job!: string;

  @IsOptional()
  @IsStringRecord()
  parameters?: Record<string, string>;
}

/** What Jenkins' crumb issuer answers: the header to send and its value. */
interface Crumb {
  crumbRequestField: string;
  crumb: string;
}

/**
 * `jenkins.build`: starts a build of a job with parameters (`POST /job/<job>/buildWithParameters`),
 * as the connection's user with its API token. Jenkins that protects against CSRF wants a crumb
 * from `/crumbIssuer/api/json` first, sent back as a header with the session it belongs to; one
 * without the protection answers 404 there, and the build is asked for without a crumb. The result
 * is where Jenkins queued the build.
 */
@Injectable()
export class JenkinsBuildHandler {
  constructor(
    private readonly calls: PartnerCallsService,
    private readonly connections: ConnectionStore,
  ) {}

  /**
   * Refuses, before a job is stored or a route saved, a connection that does not exist or is not a
   * Jenkins one; the job checks again when it runs, since the connection may change meanwhile.
   */
  @JobPayloadCheck(JENKINS_BUILD_JOB_TYPE)
  async checkPayload(payload: unknown): Promise<JobPayloadProblem[]> {
    const { connectionId } = (payload ?? {}) as { connectionId?: unknown };
    // A route's template leaves out what comes from the event; what is absent is not known yet.
    if (typeof connectionId !== 'string') return [];
    const connection = isUUID(connectionId) ? await this.connections.find(connectionId) : null;
    if (!connection) return [{ path: 'connectionId', message: `no connection has the id ${connectionId}` }];
    if (connection.provider === JENKINS_PROVIDER_KEY) return [];
    return [
      {
        path: 'connectionId',
        message: `connection ${connection.name} is a ${connection.provider} connection, not a ${JENKINS_PROVIDER_KEY} one`,
      },
    ];
  }

  @JobHandler(JENKINS_BUILD_JOB_TYPE, {
    queue: 'partners',
    maxAttempts: 8,
    backoff: { baseMs: 1000, factor: 2, maxMs: 300_000 },
    payload: JenkinsBuildPayload,
  })
  async build(ctx: JobContext<JenkinsBuildPayload>): Promise<{ queueUrl: string | null }> {
    const { connectionId, job, parameters } = ctx.payload;
    const { connection, opened } = await this.calls.usable(connectionId);
    if (connection.provider !== JENKINS_PROVIDER_KEY)
      throw new ProviderError(
        'PERMANENT',
        `connection ${connectionId} is not a ${JENKINS_PROVIDER_KEY} connection`,
      );
    const { baseUrl } = opened.config as unknown as JenkinsConfig;
    const auth = authHeaders(opened.credentials);
    const call = this.calls.request.bind(this.calls, connection, opened, ctx);

    const headers: Record<string, string> = { ...auth };
    try {
      const issued = await call({
        method: 'GET',
        url: joinUrl(baseUrl, '/crumbIssuer/api/json'),
        headers: auth,
      });
      const crumb = issued.body as Partial<Crumb> | null;
      if (typeof crumb?.crumbRequestField !== 'string' || typeof crumb.crumb !== 'string')
        throw new ProviderError('PERMANENT', 'the crumb issuer answered without crumbRequestField and crumb');
      headers[crumb.crumbRequestField] = crumb.crumb;
      // Jenkins binds a crumb to the session it was issued in.
      const session = cookiesOf(issued.headers);
      if (session) headers.cookie = session;
    } catch (error) {
      if (!(error instanceof ProviderError && error.status === 404)) throw error;
    }

    const response = await call({
      method: 'POST',
      url: joinUrl(baseUrl, `/${jobPath(job)}/buildWithParameters`),
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(parameters ?? {}).toString(),
    });
    const location = response.headers.location;
    return { queueUrl: (Array.isArray(location) ? location[0] : location) ?? null };
  }
}

/** The `name=value` pairs of a response's Set-Cookie headers, as a Cookie header; null when none. */
function cookiesOf(headers: ResponseHeaders): string | null {
  const setCookie = headers['set-cookie'];
  const cookies = (Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []).map((cookie) =>
    cookie.split(';')[0].trim(),
  );
  return cookies.length > 0 ? cookies.join('; ') : null;
}
