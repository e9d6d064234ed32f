import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A photo as the fake network serves it. */
export interface Photo {
  id: string;
  title: string;
  /** ISO time; the network's own clock moves one second per change. */
  updatedAt: string;
  /** ISO date the photo was taken; `taken_from` and `taken_to` (both included) choose by it. */
  takenAt: string;
  size: number;
  /** Where its bytes are: `GET /photos/{id}/content`. */
  contentUrl: string;
}

/** A post as the fake network serves it. */
export interface Post {
  id: string;
  text: string;
  updatedAt: string;
}

/**
 * A photo network with a paged REST API, as a sync reads it: `GET /photos?updated_since=&page=`
 * answers `{ data: [...], next }` oldest change first, 10 a page (`next` is the page token, null
 * on the last), only photos changed at or after `updated_since` and taken within `taken_from` and
 * `taken_to` when given; `GET /photos/{id}/content` answers a photo's bytes. `GET /posts` pages
 * its posts the same way (by `updated_since`). A bearer token is required.
 * Switches: answer a status instead, or answer slowly.
 */
export class FakeNetwork {
  readonly photos = new Map<string, Photo>();
  readonly posts = new Map<string, Post>();
  readonly requests: { path: string; query: Record<string, string> }[] = [];
  /** Each request waits this long before it is answered. */
  delayMs = 0;
  /** The next requests get these statuses instead of photos; 0 answers that request normally. */
  readonly failures: number[] = [];
  private tick = 0;
  /** The photos oldest change first, kept between requests (a benchmark pages through 100,000). */
  private ordered: Photo[] | null = null;

  private constructor(
    private readonly server: http.Server,
    readonly token: string,
    readonly pageSize: number,
  ) {}

  static async start(token: string, pageSize = 10): Promise<FakeNetwork> {
    const server = http.createServer();
    const network = new FakeNetwork(server, token, pageSize);
    server.on(
      'request',
      (req: http.IncomingMessage, res: http.ServerResponse) => void network.answer(req, res),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return network;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Adds or changes a photo; its updatedAt moves past every earlier change. */
  put(id: string, title: string, size = 1000, takenAt = '2025-06-01T12:00:00.000Z'): Photo {
    const photo = {
      id,
      title,
      size,
      takenAt,
      contentUrl: `/photos/${encodeURIComponent(id)}/content`,
      updatedAt: this.nextChange(),
    };
    // Deleted first, so the map's order stays the order of change.
    this.photos.delete(id);
    this.photos.set(id, photo);
    this.ordered = null;
    return photo;
  }

  /** Adds or changes a post; its updatedAt moves past every earlier change. */
  post(id: string, text: string): Post {
    const post = { id, text, updatedAt: this.nextChange() };
    this.posts.delete(id);
    this.posts.set(id, post);
    return post;
  }

  /** The photo is gone from the network. */
  remove(id: string): void {
    this.photos.delete(id);
    this.ordered = null;
  }

  /** The network's clock: one second later for each change. */
  private nextChange(): string {
    return new Date(Date.UTC(2026, 0, 1) + ++this.tick * 1000).toISOString();
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Answers still waiting out a delay are dropped with their sockets.
    this.server.closeAllConnections();
    return closed;
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push({ path: url.pathname, query: Object.fromEntries(url.searchParams) });
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs).unref());
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${this.token}`) return send(401, { error: 'unauthorized' });
    const failure = this.failures.shift();
    if (failure) return send(failure, { error: `failing with ${failure}` });
    const content = /^\/photos\/([^/]+)\/content$/.exec(url.pathname);
    if (content) {
      const photo = this.photos.get(decodeURIComponent(content[1]));
      if (!photo) return send(404, { error: 'no such photo' });
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      return void res.end(photoBytes(photo));
    }
    if (url.pathname === '/posts') return send(200, this.page([...this.posts.values()], url));
    if (url.pathname !== '/photos') return send(404, { error: 'not found' });
    const [takenFrom, takenTo] = [url.searchParams.get('taken_from'), url.searchParams.get('taken_to')];
    const all = (this.ordered ??= [...this.photos.values()]);
    const ordered =
      takenFrom || takenTo
        ? all.filter((p) => (!takenFrom || p.takenAt >= takenFrom) && (!takenTo || p.takenAt <= takenTo))
        : all;
    send(200, this.page(ordered, url));
  }

  /** One page of items (oldest change first), from the first changed at or after `updated_since`. */
  private page<T extends { updatedAt: string }>(ordered: T[], url: URL): { data: T[]; next: string | null } {
    const since = url.searchParams.get('updated_since') ?? '';
    const offset = Number(url.searchParams.get('page') ?? '0');
    // The first item changed at or after `since`, by binary search.
    let [low, high] = [0, ordered.length];
    while (low < high) {
      const middle = (low + high) >> 1;
      if (ordered[middle].updatedAt < since) low = middle + 1;
      else high = middle;
    }
    const from = low + offset;
    const page = ordered.slice(from, from + this.pageSize);
    const next = from + this.pageSize < ordered.length ? String(offset + this.pageSize) : null;
    return { data: page, next };
  }
}

/** A photo's bytes as the network serves them: they change with its title. */
export function photoBytes(photo: Photo): Buffer {
  return Buffer.from(`JPEG ${photo.id} ${photo.title}`);
}
