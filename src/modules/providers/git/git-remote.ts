import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { GitProtocol } from '../../../config/app-config.js';
import { ProviderError } from '../http/provider-error.js';
import { maskUrl } from '../http/mask-url.js';

const run = promisify(execFile);

/** One `git ls-remote` may take this long: a slow host should not hold a sync job for its whole timeout. */
const LS_REMOTE_TIMEOUT_MS = 120_000;
/** Its output may be this large (about 200,000 branches); a larger one is not a repository we can follow. */
const LS_REMOTE_MAX_BYTES = 16 * 1024 * 1024;
// Control characters (CR/LF included) in git's stderr would let a remote forge extra log lines.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]+/g;
/** How much of git's stderr goes into an error message. */
const MAX_STDERR_CHARS = 500;

/** A repository URL as git reads it: its transport, and the path its owner and name come from. */
export interface ParsedGitUrl {
  protocol: GitProtocol;
  host: string | null;
  path: string;
}

const SCHEME_URL = /^([a-z][a-z0-9+.-]*):\/\//i;
// git's scp-like form `[user@]host:path`, which it reads as ssh when no slash comes before the colon.
const SCP_LIKE = /^(?:([^@/\s]+)@)?(\[[^\]/\s]+\]|[^:/\s]+):(?!\/\/)(.+)$/;
const SCHEME_PROTOCOLS: Record<string, GitProtocol> = {
  https: 'https',
  http: 'http',
  ssh: 'ssh',
  'git+ssh': 'ssh',
  'ssh+git': 'ssh',
  git: 'git',
  file: 'file',
};

/**
 * Reads a repository URL the way git would pick its transport, or says why it will not be used.
 * Remote helpers (`ext::`, `<helper>::`) and local paths are refused outright, and so is anything
 * git or ssh could read as an option (a leading `-`, in the URL or its host or user).
 */
export function parseGitUrl(url: string): ParsedGitUrl | string {
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(url)) return 'must not contain spaces or control characters';
  if (url.startsWith('-')) return 'must not start with "-"';
  if (/^[a-z0-9+.-]+::/i.test(url)) return 'git remote helpers (<transport>::<address>) are not allowed';
  const scheme = SCHEME_URL.exec(url)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    const protocol = SCHEME_PROTOCOLS[scheme];
    if (!protocol) return `${scheme}:// is not a git protocol (https, http, ssh, git, file)`;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'is not a URL';
    }
    if (protocol !== 'file' && !parsed.hostname) return 'must name a host';
    if (parsed.hostname.startsWith('-') || parsed.username.startsWith('-'))
      return 'its host and user must not start with "-"';
    return { protocol, host: parsed.hostname || null, path: safeDecode(parsed.pathname) };
  }
  const scp = SCP_LIKE.exec(url);
  if (scp) {
    const [, user, host, path] = scp;
    if (host.startsWith('-') || user?.startsWith('-')) return 'its host and user must not start with "-"';
    return { protocol: 'ssh', host, path };
  }
  return 'must be a URL such as https://host/owner/name.git, git@host:owner/name.git or file:///srv/git/name.git';
}

/** `https://host/acme/shop.git`, `git@host:acme/shop.git`, `file:///srv/acme/shop.git`: acme and shop. */
export function ownerAndName(parsed: ParsedGitUrl): { owner: string | null; name: string | null } {
  const segments = parsed.path.split('/').filter((segment) => segment.length > 0);
  const name = segments.pop()?.replace(/\.git$/, '') || null;
  return { owner: segments.pop() ?? parsed.host, name };
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * Text about a repository fit for logs, messages and records: a password in its URL, and a user
 * name of an http(s) URL (where it is usually a token), become `***`. An ssh user (`git@`) is not
 * a secret and stays.
 */
export function maskGitText(text: string, url: string): string {
  const secrets: string[] = [];
  try {
    const parsed = new URL(url);
    if (parsed.password) secrets.push(parsed.password, safeDecode(parsed.password));
    if (parsed.username && !parsed.password && /^https?:$/.test(parsed.protocol))
      secrets.push(parsed.username, safeDecode(parsed.username));
  } catch {
    // An scp-like address carries no password.
  }
  let masked = text.replaceAll(url, maskUrl(url, secrets));
  for (const secret of secrets.sort((a, b) => b.length - a.length))
    if (secret.length > 0) masked = masked.replaceAll(secret, '***');
  return masked;
}

/** A branch head as `git ls-remote --heads` lists it. */
export interface RemoteHead {
  name: string;
  sha: string;
}

/** Lines `<sha>\trefs/heads/<name>`; anything else (there should be nothing else) is skipped. */
export function parseHeads(stdout: string): RemoteHead[] {
  const heads: RemoteHead[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^([0-9a-f]{40}|[0-9a-f]{64})\trefs\/heads\/(.+)$/.exec(line.trimEnd());
    if (match) heads.push({ sha: match[1], name: match[2] });
  }
  return heads;
}

// What git says when a retry cannot help: no such repository, no access, a transport refused.
const PERMANENT_STDERR = [
  /does not appear to be a git repository/i,
  /not a git repository/i,
  /repository .*not found/i,
  /repository not found/i,
  // An HTTP 4xx but a timeout (408) or a rate limit (429).
  /returned error: 4(?!08|29)\d\d\b/i,
  /authentication failed/i,
  /could not read (username|password)/i,
  /terminal prompts disabled/i,
  /permission denied/i,
  /access denied/i,
  /host key verification failed/i,
  /transport '[^']*' not allowed/i,
  /unable to find remote helper/i,
  /protocol .* is not supported/i,
  /unsupported protocol/i,
];

export interface LsRemoteOptions {
  protocols: readonly GitProtocol[];
  signal: AbortSignal;
}

/**
 * The branch heads of the repository at `url`, from `git ls-remote --heads`, run without a shell,
 * without prompts, with only the allowed transports, within a time and an output limit. A failure
 * is a ProviderError: PERMANENT when the repository is missing or refused, TEMPORARY otherwise
 * (network, timeouts, a server error); its message holds git's stderr with credentials masked.
 * When `signal` aborts, its reason is thrown as it is, for the job engine.
 */
export async function lsRemoteHeads(
  url: string,
  { protocols, signal }: LsRemoteOptions,
): Promise<RemoteHead[]> {
  try {
    const { stdout } = await run('git', ['ls-remote', '--heads', '--', url], {
      env: {
        ...process.env,
        GIT_TERMINAL_PROMPT: '0',
        GIT_ALLOW_PROTOCOL: protocols.join(':'),
        // git's messages in English, which is what the classification reads.
        LC_ALL: 'C',
        // ssh would otherwise ask for a password or a host key with nobody to answer.
        GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
      },
      signal,
      timeout: LS_REMOTE_TIMEOUT_MS,
      killSignal: 'SIGKILL',
      maxBuffer: LS_REMOTE_MAX_BYTES,
      windowsHide: true,
    });
    return parseHeads(stdout);
  } catch (error) {
    if (signal.aborted) throw signal.reason as Error;
    throw lsRemoteFailure(error as ExecFailure, url);
  }
}

interface ExecFailure extends Error {
  code?: string | number;
  killed?: boolean;
  signal?: NodeJS.Signals | null;
  stderr?: string;
}

function lsRemoteFailure(error: ExecFailure, url: string): ProviderError {
  const shown = maskGitText(url, url);
  if (error.code === 'ENOENT')
    return new ProviderError('PERMANENT', 'git is not installed on this server (no git on the PATH)');
  if (error.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER')
    return new ProviderError(
      'PERMANENT',
      `git ls-remote ${shown} listed more than ${LS_REMOTE_MAX_BYTES} bytes`,
    );
  if (error.killed)
    return new ProviderError(
      'TEMPORARY',
      `git ls-remote ${shown} took longer than ${LS_REMOTE_TIMEOUT_MS} ms`,
    );
  const stderr = maskGitText(error.stderr ?? '', url)
    .replace(CONTROL_CHARACTERS, ' ')
    .trim();
  const said = stderr.length > MAX_STDERR_CHARS ? `${stderr.slice(0, MAX_STDERR_CHARS)}…` : stderr;
  const code = PERMANENT_STDERR.some((pattern) => pattern.test(stderr)) ? 'PERMANENT' : 'TEMPORARY';
  return new ProviderError(
    code,
    `git ls-remote ${shown} failed: ${said || `exit code ${String(error.code)}`}`,
  );
}
