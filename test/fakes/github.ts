import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A commit of the fake: its parents (two for a merge). */
interface Commit {
  sha: string;
  parents: string[];
}

interface Repository {
  owner: string;
  name: string;
  commits: Map<string, Commit>;
  /** Branch name -> head sha. */
  branches: Map<string, string>;
}

export interface FakeGithubOptions {
  /** The token REST calls must carry as `Authorization: Bearer`; any call without it is 401. */
  token: string;
  /** Branches per page when the caller asks for more (GitHub's own limit is 100). */
  maxPerPage?: number;
}

/**
 * A local GitHub that speaks the parts of its REST API projects use, as documented: repositories,
 * branches (paged by `per_page`/`page` with a `Link` header), one branch, and compare
 * (`ahead_by` / `behind_by` from a real commit graph). Changing a repository returns the webhook
 * payload GitHub would send for it, so a test chooses whether the webhook arrives or is missed.
 */
export class FakeGithub {
  private server!: Server;
  private readonly repositories = new Map<string, Repository>();
  private serial = 0;
  /** Every REST call, `GET /repos/...` with its query. */
  readonly calls: string[] = [];
  url = '';

  constructor(private readonly options: FakeGithubOptions) {}

  async start(): Promise<this> {
    this.server = createServer((request, response) => this.handle(request, response));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A repository with one commit on `main`. */
  createRepository(owner: string, name: string): void {
    const root = this.commit([]);
    this.repositories.set(`${owner}/${name}`, {
      owner,
      name,
      commits: new Map([[root.sha, root]]),
      branches: new Map([['main', root.sha]]),
    });
  }

  head(repo: string, branch: string): string | undefined {
    return this.repo(repo).branches.get(branch);
  }

  /** A new commit on a branch (made from `from` when the branch is new); the `push` webhook payload. */
  push(repo: string, branch: string, from = 'main'): Record<string, unknown> {
    const repository = this.repo(repo);
    const before = repository.branches.get(branch);
    const parent = before ?? repository.branches.get(from)!;
    const commit = this.commit([parent]);
    repository.commits.set(commit.sha, commit);
    repository.branches.set(branch, commit.sha);
    return {
      ref: `refs/heads/${branch}`,
      before: before ?? '0'.repeat(40),
      after: commit.sha,
      created: before === undefined,
      deleted: false,
      forced: false,
      commits: [{ id: commit.sha, message: `commit ${this.serial}`, distinct: true }],
      head_commit: { id: commit.sha },
      repository: this.repositoryPayload(repository),
      pusher: { name: 'dev', email: 'dev@example.com' },
      sender: { login: 'dev' },
    };
  }

  /** A branch made at another branch's head; the `create` webhook payload (which names no commit). */
  createBranch(repo: string, branch: string, from = 'main'): Record<string, unknown> {
    const repository = this.repo(repo);
    repository.branches.set(branch, repository.branches.get(from)!);
    return {
      ref: branch,
      ref_type: 'branch',
      master_branch: 'main',
      pusher_type: 'user',
      repository: this.repositoryPayload(repository),
      sender: { login: 'dev' },
    };
  }

  /** Deletes a branch; the `delete` webhook payload. */
  deleteBranch(repo: string, branch: string): Record<string, unknown> {
    const repository = this.repo(repo);
    repository.branches.delete(branch);
    return {
      ref: branch,
      ref_type: 'branch',
      pusher_type: 'user',
      repository: this.repositoryPayload(repository),
      sender: { login: 'dev' },
    };
  }

  /** Merges `head` into `base` with a merge commit; the `pull_request` `closed` webhook payload. */
  mergePullRequest(repo: string, head: string, base: string): Record<string, unknown> {
    const repository = this.repo(repo);
    const merge = this.commit([repository.branches.get(base)!, repository.branches.get(head)!]);
    repository.commits.set(merge.sha, merge);
    repository.branches.set(base, merge.sha);
    const number = ++this.serial;
    return {
      action: 'closed',
      number,
      pull_request: {
        number,
        state: 'closed',
        merged: true,
        merge_commit_sha: merge.sha,
        head: { ref: head, sha: merge.parents[1], repo: { full_name: repo } },
        base: { ref: base, sha: merge.parents[0], repo: { full_name: repo } },
      },
      repository: this.repositoryPayload(repository),
      sender: { login: 'dev' },
    };
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', this.url);
    this.calls.push(`${request.method} ${url.pathname}${url.search}`);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      response.end(JSON.stringify(body));
    };
    if (request.headers['authorization'] !== `Bearer ${this.options.token}`)
      return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    // GitHub refuses a request without a User-Agent.
    if (!request.headers['user-agent'])
      return send(403, { message: 'Request forbidden by administrative rules' });
    const match = /^\/repos\/([^/]+)\/([^/]+)(?:\/(branches|compare)(?:\/(.+))?)?$/.exec(url.pathname);
    const repository = match && this.repositories.get(`${match[1]}/${match[2]}`);
    if (request.method !== 'GET' || !match || !repository) return send(404, { message: 'Not Found' });
    const [, , , what, rest] = match;
    if (!what) return send(200, this.repositoryPayload(repository));
    if (what === 'branches' && rest === undefined) return this.branchPage(repository, url, send);
    if (what === 'branches') {
      const name = decodeURIComponent(rest);
      const sha = repository.branches.get(name);
      return sha ? send(200, { name, commit: { sha } }) : send(404, { message: 'Branch not found' });
    }
    const [base, head] = decodeURIComponent(rest ?? '').split('...');
    const [baseSha, headSha] = [repository.branches.get(base), repository.branches.get(head)];
    if (!baseSha || !headSha) return send(404, { message: 'Not Found' });
    const [ofBase, ofHead] = [this.ancestors(repository, baseSha), this.ancestors(repository, headSha)];
    const ahead = [...ofHead].filter((sha) => !ofBase.has(sha)).length;
    const behind = [...ofBase].filter((sha) => !ofHead.has(sha)).length;
    const status =
      ahead === 0 ? (behind === 0 ? 'identical' : 'behind') : behind === 0 ? 'ahead' : 'diverged';
    return send(200, { status, ahead_by: ahead, behind_by: behind, total_commits: ahead, commits: [] });
  }

  private branchPage(
    repository: Repository,
    url: URL,
    send: (status: number, body: unknown, headers?: Record<string, string>) => void,
  ): void {
    const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), this.options.maxPerPage ?? 100);
    const page = Number(url.searchParams.get('page') ?? 1);
    const names = [...repository.branches.keys()].sort();
    const last = Math.max(1, Math.ceil(names.length / perPage));
    const items = names
      .slice((page - 1) * perPage, page * perPage)
      .map((name) => ({ name, commit: { sha: repository.branches.get(name)!, url: '' }, protected: false }));
    const link = (to: number, rel: string) => {
      const target = new URL(url);
      target.searchParams.set('page', String(to));
      return `<${target.toString()}>; rel="${rel}"`;
    };
    const links = [
      ...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []),
      ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : []),
    ];
    send(200, items, links.length > 0 ? { link: links.join(', ') } : {});
  }

  private ancestors(repository: Repository, sha: string): Set<string> {
    const seen = new Set<string>();
    const queue = [sha];
    while (queue.length > 0) {
      const next = queue.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      queue.push(...repository.commits.get(next)!.parents);
    }
    return seen;
  }

  private commit(parents: string[]): Commit {
    const sha = createHash('sha1')
      .update(`${++this.serial}:${parents.join(',')}`)
      .digest('hex');
    return { sha, parents };
  }

  private repo(fullName: string): Repository {
    const repository = this.repositories.get(fullName);
    if (!repository) throw new Error(`the fake has no repository ${fullName}`);
    return repository;
  }

  private repositoryPayload(repository: Repository): Record<string, unknown> {
    const fullName = `${repository.owner}/${repository.name}`;
    return {
      name: repository.name,
      full_name: fullName,
      owner: { login: repository.owner, name: repository.owner },
      html_url: `https://github.example/${fullName}`,
      default_branch: 'main',
    };
  }
}
