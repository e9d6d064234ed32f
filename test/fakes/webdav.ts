import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A WebDAV server (RFC 4918) kept in memory, as the RFC describes one: PUT into a missing
 * collection is 409, MKCOL of what exists 405, PROPFIND (Depth 0 or 1) answers 207 Multi-Status,
 * and the root collection reports RFC 4331's quota properties when asked for them and a quota is
 * set. Every request but one with the right Basic credentials is 401.
 */

export interface FakeWebdavOptions {
  username: string;
  password: string;
  /** Where the served collection is; default `/dav/`. */
  basePath?: string;
  /** The root's quota in bytes; null (the default) reports none. */
  quotaBytes?: number | null;
}

export interface FakeWebdavRequest {
  method: string;
  /** The URL path as sent, still encoded. */
  path: string;
  depth: string | undefined;
}

export interface FakeWebdav {
  /** The served collection's URL, ending with `/`. */
  url: string;
  requests: FakeWebdavRequest[];
  /** File contents by path below the served collection (`photos/a.jpg`). */
  files: Map<string, Buffer>;
  /** Collections below the served one (`photos`, `photos/2024`); the root is always there. */
  collections: Set<string>;
  setQuota(quotaBytes: number | null): void;
  close(): Promise<void>;
}

export async function startFakeWebdav(options: FakeWebdavOptions): Promise<FakeWebdav> {
  const basePath = options.basePath ?? '/dav/';
  const expectedAuth = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
  const requests: FakeWebdavRequest[] = [];
  const files = new Map<string, Buffer>();
  const collections = new Set<string>();
  let quotaBytes = options.quotaBytes ?? null;

  const isCollection = (key: string) => key === '' || collections.has(key);
  const parentOf = (key: string) => key.split('/').slice(0, -1).join('/');
  const usedBytes = () => [...files.values()].reduce((sum, content) => sum + content.length, 0);
  const hrefOf = (key: string) =>
    `${basePath}${key.split('/').map(encodeURIComponent).join('/')}${key !== '' && isCollection(key) ? '/' : ''}`;

  const entry = (key: string, quotaAsked: boolean): string => {
    const collection = isCollection(key);
    const found = [
      `<d:resourcetype>${collection ? '<d:collection/>' : ''}</d:resourcetype>`,
      ...(collection ? [] : [`<d:getcontentlength>${files.get(key)!.length}</d:getcontentlength>`]),
    ];
    const missing: string[] = [];
    if (quotaAsked && key === '' && quotaBytes !== null) {
      found.push(
        `<d:quota-used-bytes>${usedBytes()}</d:quota-used-bytes>`,
        `<d:quota-available-bytes>${Math.max(0, quotaBytes - usedBytes())}</d:quota-available-bytes>`,
      );
    } else if (quotaAsked) {
      missing.push('<d:quota-used-bytes/>', '<d:quota-available-bytes/>');
    }
    return (
      `<d:response><d:href>${escapeXml(hrefOf(key))}</d:href>` +
      `<d:propstat><d:prop>${found.join('')}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>` +
      (missing.length > 0
        ? `<d:propstat><d:prop>${missing.join('')}</d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>`
        : '') +
      '</d:response>'
    );
  };

  const handle = (request: http.IncomingMessage, body: Buffer, response: http.ServerResponse): void => {
    const path = (request.url ?? '/').split('?')[0];
    const depth = request.headers.depth as string | undefined;
    const method = request.method ?? '';
    requests.push({ method, path, depth });
    if (request.headers.authorization !== expectedAuth) {
      response.writeHead(401, { 'www-authenticate': 'Basic realm="fake webdav"' }).end();
      return;
    }
    const key = keyOf(path, basePath);
    if (key === null) {
      response.writeHead(404).end();
      return;
    }
    const exists = files.has(key) || isCollection(key);
    switch (method) {
      case 'PUT': {
        if (isCollection(key)) return void response.writeHead(405).end();
        if (!isCollection(parentOf(key))) return void response.writeHead(409).end();
        const created = !files.has(key);
        files.set(key, body);
        return void response.writeHead(created ? 201 : 204).end();
      }
      case 'GET': {
        const content = files.get(key);
        if (!content) return void response.writeHead(404).end();
        return void response
          .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': content.length })
          .end(content);
      }
      case 'DELETE': {
        if (!exists || key === '') return void response.writeHead(key === '' ? 403 : 404).end();
        for (const name of [...files.keys()])
          if (name === key || name.startsWith(`${key}/`)) files.delete(name);
        for (const name of [...collections])
          if (name === key || name.startsWith(`${key}/`)) collections.delete(name);
        return void response.writeHead(204).end();
      }
      case 'MKCOL': {
        if (exists) return void response.writeHead(405).end();
        if (!isCollection(parentOf(key))) return void response.writeHead(409).end();
        collections.add(key);
        return void response.writeHead(201).end();
      }
      case 'PROPFIND': {
        if (depth !== '0' && depth !== '1') return void response.writeHead(403).end();
        if (!exists) return void response.writeHead(404).end();
        const quotaAsked = body.toString('utf8').includes('quota-used-bytes');
        const children =
          depth === '1' && isCollection(key)
            ? [...collections, ...files.keys()].filter((name) => name !== '' && parentOf(name) === key)
            : [];
        const xml =
          '<?xml version="1.0" encoding="utf-8"?><d:multistatus xmlns:d="DAV:">' +
          [key, ...children].map((name) => entry(name, quotaAsked)).join('') +
          '</d:multistatus>';
        return void response.writeHead(207, { 'content-type': 'application/xml; charset=utf-8' }).end(xml);
      }
      default:
        return void response.writeHead(405).end();
    }
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handle(request, Buffer.concat(chunks), response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${basePath}`,
    requests,
    files,
    collections,
    setQuota(value) {
      quotaBytes = value;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The path below `basePath` as a key (`photos/a.jpg`, `''` for the root); null outside it. */
function keyOf(path: string, basePath: string): string | null {
  const withSlash = path.endsWith('/') ? path : `${path}/`;
  if (!withSlash.startsWith(basePath)) return null;
  try {
    return path
      .slice(basePath.length)
      .split('/')
      .filter((part) => part !== '')
      .map(decodeURIComponent)
      .join('/');
  } catch {
    return null;
  }
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
