import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A photo as the fake library serves it. */
export interface LibraryPhoto {
  id: string;
  title: string;
  /** ISO time; the library's own clock moves one second per change. */
  updatedAt: string;
}

/** What a request for a page token the library no longer honours gets. */
export interface TokenRefusal {
  status: number;
  body: unknown;
}

/**
 * Google's documented answer to a token that is no longer valid (Calendar API, "410: Gone"): the
 * client must read again without it.
 */
export const TOKEN_GONE: TokenRefusal = {
  status: 410,
  body: {
    error: {
      errors: [
        {
          domain: 'global',
          reason: 'fullSyncRequired',
          message: 'Sync token is no longer valid, a full sync is required.',
        },
      ],
      code: 410,
      message: 'Sync token is no longer valid, a full sync is required.',
    },
  },
};

/** Google's answer to a parameter it cannot use, such as a page token sent with another query. */
function invalidArgument(message: string): TokenRefusal {
  return { status: 400, body: { error: { code: 400, message, status: 'INVALID_ARGUMENT' } } };
}

/** A page token as the library issued it: where the next page starts, for which query. */
interface IssuedToken {
  offset: number;
  /** The request's other parameters, as the token was issued for them. */
  query: string;
  expired: boolean;
}

/**
 * A photo library with a paged REST API whose page tokens are opaque, bound to their query and
 * short-lived, as Google's are: `GET /photos?updated_since=&page_size=&pageToken=` answers
 * `{ mediaItems: [...], nextPageToken }` oldest change first (`page_size` a page, the library's
 * own size by default; no `nextPageToken` on the last page), only photos changed at or after
 * `updated_since`. A token sent with other parameters than it was issued for is refused with a 400
 * INVALID_ARGUMENT; an expired one with `refusal` (410 Gone by default). A bearer token is required.
 * Switches: answer a status instead (`failures`), expire every token issued so far.
 */
export class FakePhotoLibrary {
  readonly photos = new Map<string, LibraryPhoto>();
  readonly requests: { path: string; query: Record<string, string> }[] = [];
  /** The next requests get these answers instead of photos; 0 answers that request normally. */
  readonly failures: (0 | { status: number; retryAfterSeconds?: number })[] = [];
  /** What an expired token gets. */
  refusal: TokenRefusal = TOKEN_GONE;
  private readonly tokens = new Map<string, IssuedToken>();
  private tick = 0;

  private constructor(
    private readonly server: http.Server,
    readonly token: string,
    readonly pageSize: number,
  ) {}

  static async start(token: string, pageSize = 10): Promise<FakePhotoLibrary> {
    const server = http.createServer();
    const library = new FakePhotoLibrary(server, token, pageSize);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => library.answer(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return library;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Adds or changes a photo; its updatedAt moves past every earlier change. */
  put(id: string, title: string): LibraryPhoto {
    const photo = { id, title, updatedAt: new Date(Date.UTC(2026, 0, 1) + ++this.tick * 1000).toISOString() };
    // Deleted first, so the map's order stays the order of change.
    this.photos.delete(id);
    this.photos.set(id, photo);
    return photo;
  }

  /** Every page token issued so far expires, as after a partner's token lifetime has passed. */
  expireTokens(): void {
    for (const issued of this.tokens.values()) issued.expired = true;
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    return closed;
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push({ path: url.pathname, query: Object.fromEntries(url.searchParams) });
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${this.token}`) return send(401, { error: 'unauthorized' });
    const failure = this.failures.shift();
    if (failure) {
      const retryAfter: Record<string, string> =
        failure.retryAfterSeconds === undefined ? {} : { 'retry-after': String(failure.retryAfterSeconds) };
      return send(failure.status, { error: { code: failure.status, message: 'failing' } }, retryAfter);
    }
    if (url.pathname !== '/photos') return send(404, { error: 'not found' });
    const pageToken = url.searchParams.get('pageToken');
    url.searchParams.delete('pageToken');
    url.searchParams.sort();
    const query = url.searchParams.toString();
    let offset = 0;
    if (pageToken !== null) {
      const issued = this.tokens.get(pageToken);
      if (!issued) return send(400, invalidArgument('Invalid page token.').body);
      if (issued.query !== query) {
        const refused = invalidArgument('The page token was issued for a request with other parameters.');
        return send(refused.status, refused.body);
      }
      if (issued.expired) return send(this.refusal.status, this.refusal.body);
      offset = issued.offset;
    }
    const since = url.searchParams.get('updated_since') ?? '';
    const size = Number(url.searchParams.get('page_size') ?? this.pageSize);
    const matching = [...this.photos.values()].filter((photo) => photo.updatedAt >= since);
    const mediaItems = matching.slice(offset, offset + size);
    if (offset + size >= matching.length) return send(200, { mediaItems });
    const nextPageToken = `tok-${this.tokens.size + 1}`;
    this.tokens.set(nextPageToken, { offset: offset + size, query, expired: false });
    send(200, { mediaItems, nextPageToken });
  }
}
