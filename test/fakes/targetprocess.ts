import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * TargetProcess's REST API v1 as its documentation describes the collections
 * `/api/v1/UserStories|Bugs|Features`: `format=json` answers `{ Next?, Prev?, Items }` (XML
 * otherwise), `take` (default 25, at most 1000) and `skip` page it, `Next` and `Prev` link the
 * neighbouring pages with the request's other parameters, `where=(Project.Id in (1,2))` filters by
 * project, and a request without the right `access_token` is 401. Items are kept in Id order.
 */

export type FakeTpCollection = 'UserStories' | 'Bugs' | 'Features';

export interface FakeTpItem {
  Id: number;
  Name: string;
  EntityState: { Id: number; Name: string };
  Owner: { Id: number; FirstName: string; LastName: string; Login: string } | null;
  Project: { Id: number; Name: string };
}

export interface FakeTpRequest {
  collection: string;
  query: Record<string, string>;
}

export interface FakeTargetprocess {
  /** The site's URL (what a connection's baseUrl is), without a trailing slash. */
  url: string;
  requests: FakeTpRequest[];
  /** Adds an item with the next Id; `project` defaults to 1, `state` to Open. */
  add(
    collection: FakeTpCollection,
    item: { name: string; state?: string; owner?: string | null; project?: number },
  ): FakeTpItem;
  change(id: number, change: { name?: string; state?: string }): void;
  remove(id: number): void;
  /** Makes `Next` links point at another origin (null: back to this one), as a hostile server might. */
  setNextOrigin(origin: string | null): void;
  close(): Promise<void>;
}

const DEFAULT_TAKE = 25;
const MAX_TAKE = 1000;
const COLLECTION_PATH = /^\/api\/v1\/(UserStories|Bugs|Features)\/?$/i;
const WHERE_PROJECT_IN = /^\(?\s*Project\.Id\s+in\s+\(([\d\s,]+)\)\s*\)?$/i;

export async function startFakeTargetprocess(options: { token: string }): Promise<FakeTargetprocess> {
  const items = new Map<number, { collection: FakeTpCollection; item: FakeTpItem }>();
  const requests: FakeTpRequest[] = [];
  let nextId = 1000;
  let nextOrigin: string | null = null;
  let origin = '';

  const handle = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    const url = new URL(request.url ?? '/', origin);
    const query = Object.fromEntries(url.searchParams);
    const match = COLLECTION_PATH.exec(url.pathname);
    requests.push({ collection: match?.[1] ?? url.pathname, query });
    if (query.access_token !== options.token) {
      response.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized');
      return;
    }
    if (request.method !== 'GET' || !match) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    const collection = match[1].toLowerCase();
    let projects: Set<number> | null = null;
    if (query.where !== undefined) {
      const where = WHERE_PROJECT_IN.exec(query.where.trim());
      if (!where) {
        response.writeHead(400, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ Status: 'BadRequest', Message: `cannot read where=${query.where}` }));
        return;
      }
      projects = new Set(where[1].split(',').map((id) => Number(id.trim())));
    }
    const take = Math.min(MAX_TAKE, Math.max(1, Number(query.take ?? DEFAULT_TAKE) || DEFAULT_TAKE));
    const skip = Math.max(0, Number(query.skip ?? 0) || 0);
    const found = [...items.values()]
      .filter((entry) => entry.collection.toLowerCase() === collection)
      .map((entry) => entry.item)
      .filter((item) => projects === null || projects.has(item.Project.Id))
      .sort((a, b) => a.Id - b.Id);
    if (query.format !== 'json') {
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end(`<${match[1]}>${found.length} items; ask with format=json</${match[1]}>`);
      return;
    }
    const link = (at: number) => {
      const params = new URLSearchParams(url.searchParams);
      params.set('take', String(take));
      params.set('skip', String(at));
      return `${nextOrigin ?? origin}${url.pathname}?${params.toString()}`;
    };
    const page: Record<string, unknown> = {};
    if (skip > 0) page.Prev = link(Math.max(0, skip - take));
    if (skip + take < found.length) page.Next = link(skip + take);
    page.Items = found
      .slice(skip, skip + take)
      .map((item) => ({ ResourceType: resourceType(collection), ...item }));
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify(page));
  };

  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => handle(request, response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const entry = (id: number) => {
    const found = items.get(id);
    if (!found) throw new Error(`the fake TargetProcess has no item ${id}`);
    return found.item;
  };

  return {
    url: origin,
    requests,
    add(collection, { name, state = 'Open', owner = 'jdoe', project = 1 }) {
      const item: FakeTpItem = {
        Id: nextId++,
        Name: name,
        EntityState: { Id: stateId(state), Name: state },
        Owner: owner === null ? null : { Id: 7, FirstName: 'Jo', LastName: 'Doe', Login: owner },
        Project: { Id: project, Name: `Project ${project}` },
      };
      items.set(item.Id, { collection, item });
      return item;
    },
    change(id, { name, state }) {
      const item = entry(id);
      if (name !== undefined) item.Name = name;
      if (state !== undefined) item.EntityState = { Id: stateId(state), Name: state };
    },
    remove(id) {
      entry(id);
      items.delete(id);
    },
    setNextOrigin(value) {
      nextOrigin = value;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function resourceType(collection: string): string {
  return { userstories: 'UserStory', bugs: 'Bug', features: 'Feature' }[collection] ?? collection;
}

/** TargetProcess gives each workflow state an id; the fake derives a stable one from the name. */
function stateId(name: string): number {
  return [...name].reduce((sum, char) => sum + char.charCodeAt(0), 0);
}
