import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Jenkins as its remote access API behaves with CSRF protection on: every request needs Basic
 * auth with the user and its API token (else 401), `GET /crumbIssuer/api/json` issues a crumb
 * bound to a session cookie, and `POST /job/<name>[/job/<name>...]/buildWithParameters` without
 * that crumb is 403; with it, the build is queued: 201 with `Location: <base>/queue/item/<n>/`.
 */

export interface FakeJenkinsOptions {
  username: string;
  apiToken: string;
  /** Without it, `/crumbIssuer/api/json` is 404, as on a Jenkins with CSRF protection off. */
  csrf?: boolean;
}

export interface QueuedBuild {
  /** The job path as sent, still encoded: `/job/team/job/shop`. */
  jobPath: string;
  parameters: Record<string, string>;
  headers: http.IncomingHttpHeaders;
}

export interface FakeJenkins {
  url: string;
  /** Builds accepted, in order. */
  queued: QueuedBuild[];
  /** Every request, `METHOD /path` and its status. */
  requests: { line: string; status: number }[];
  close(): Promise<void>;
}

const CRUMB_FIELD = 'Jenkins-Crumb';

export async function startFakeJenkins(options: FakeJenkinsOptions): Promise<FakeJenkins> {
  const expectedAuth = `Basic ${Buffer.from(`${options.username}:${options.apiToken}`).toString('base64')}`;
  const queued: QueuedBuild[] = [];
  const requests: { line: string; status: number }[] = [];
  const crumbs = new Map<string, string>();
  let sessions = 0;
  let queueItem = 100;

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = (request.url ?? '/').split('?')[0];
      const answer = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
        requests.push({ line: `${request.method} ${path}`, status });
        response.writeHead(status, {
          ...(body === undefined ? {} : { 'content-type': 'application/json;charset=utf-8' }),
          ...headers,
        });
        response.end(body === undefined ? undefined : JSON.stringify(body));
      };
      if (request.headers.authorization !== expectedAuth) return answer(401, { message: 'Unauthorized' });
      if (request.method === 'GET' && path === '/api/json')
        return answer(200, { _class: 'hudson.model.Hudson', mode: 'NORMAL' });
      if (request.method === 'GET' && path === '/crumbIssuer/api/json') {
        if (!options.csrf) return answer(404);
        const session = `node0fake${++sessions}`;
        const crumb = `crumb-${sessions}-${Math.random().toString(16).slice(2)}`;
        crumbs.set(session, crumb);
        return answer(
          200,
          { _class: 'hudson.security.csrf.DefaultCrumbIssuer', crumb, crumbRequestField: CRUMB_FIELD },
          { 'set-cookie': `JSESSIONID.fake=${session}; Path=/; HttpOnly` },
        );
      }
      const build = /^((?:\/job\/[^/]+)+)\/buildWithParameters$/.exec(path);
      if (request.method === 'POST' && build) {
        if (options.csrf) {
          const session = /JSESSIONID\.fake=([^;]+)/.exec(request.headers.cookie ?? '')?.[1];
          const given = request.headers[CRUMB_FIELD.toLowerCase()];
          if (!session || crumbs.get(session) !== given)
            return answer(403, { message: 'No valid crumb was included in the request' });
        }
        queued.push({
          jobPath: build[1],
          parameters: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
          headers: request.headers,
        });
        return answer(201, undefined, { location: `${url}/queue/item/${++queueItem}/` });
      }
      return answer(404);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    queued,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** One phase of a build, as the Notification plugin describes it (its JSON format). */
export interface BuildNotice {
  job: string;
  number: number;
  phase: 'QUEUED' | 'STARTED' | 'COMPLETED' | 'FINALIZED';
  status?: 'SUCCESS' | 'UNSTABLE' | 'FAILURE' | 'NOT_BUILT' | 'ABORTED';
  branch?: string;
  commit?: string;
  /** Epoch ms when the build was scheduled. */
  timestamp?: number;
  duration?: number;
  parameters?: Record<string, string>;
}

/** The Notification plugin's JSON body for a build of a top-level job on `jenkinsUrl`. */
export function notificationBody(jenkinsUrl: string, notice: BuildNotice): Record<string, unknown> {
  const jobUrl = `job/${encodeURIComponent(notice.job)}/`;
  return {
    name: notice.job,
    display_name: notice.job,
    url: jobUrl,
    build: {
      full_url: `${jenkinsUrl}/${jobUrl}${notice.number}/`,
      number: notice.number,
      queue_id: 1000 + notice.number,
      timestamp: notice.timestamp,
      duration: notice.duration ?? 0,
      phase: notice.phase,
      ...(notice.status ? { status: notice.status } : {}),
      url: `${jobUrl}${notice.number}/`,
      scm: {
        url: 'https://github.com/acme/shop.git',
        branch: notice.branch,
        commit: notice.commit,
        changes: [],
        culprits: [],
      },
      parameters: notice.parameters ?? {},
      log: '',
      notes: '',
      artifacts: {},
    },
  };
}

/** Posts a notification as the plugin does: JSON, no signature, to the URL it was configured with. */
export async function postNotification(
  url: string,
  body: Record<string, unknown>,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=UTF-8' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
}
