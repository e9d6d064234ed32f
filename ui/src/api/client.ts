import createClient from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type Job = Schemas['JobDto'];
export type JobDetails = Schemas['JobDetailsDto'];
export type JobStatus = Job['status'];
export type Session = Schemas['SessionDto'];
export type Role = Session['role'];

/**
 * The typed client of Junction's own API, generated from its OpenAPI document. The session cookie
 * goes along by itself; the custom header is what lets a cookie-authenticated write through (CSRF).
 */
export const api = createClient<paths>({
  baseUrl: '',
  credentials: 'same-origin',
  headers: { 'X-Junction-Request': '1' },
});

/** An error answer of the API, with what a person needs to read. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

/** The data of an answer, or an ApiError built from the API's error body. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok) return result.data as T;
  const body = (result.error ?? {}) as Partial<Schemas['ErrorBodyDto']>;
  const details = Array.isArray(body.details) ? (body.details as unknown[]).flatMap(detailLines) : [];
  throw new ApiError(
    result.response.status,
    body.error ?? String(result.response.status),
    body.message ?? result.response.statusText ?? 'request failed',
    details,
  );
}

/**
 * A detail of an error body in words: the API's details are sentences, `{ field, problems }`
 * (routes, schedules, webhook endpoints) or `{ path, message }` (connections' JSON pointers).
 */
function detailLines(detail: unknown): string[] {
  if (typeof detail === 'string') return [detail];
  const { field, problems, path, message } = (detail ?? {}) as Record<string, unknown>;
  if (typeof field === 'string' && Array.isArray(problems))
    return problems.map((p) => `${field}: ${String(p)}`);
  if (typeof path === 'string' && typeof message === 'string') return [`${path || '/'}: ${message}`];
  return [JSON.stringify(detail)];
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAtLeast(role: Role, required: Role): boolean {
  return RANK[role] >= RANK[required];
}
