import { maskGitText, ownerAndName, parseGitUrl, parseHeads } from './git-remote.js';
import type { ParsedGitUrl } from './git-remote.js';

const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);

describe('parseGitUrl', () => {
  it.each([
    ['https://git.example.com/acme/shop.git', 'https', 'acme', 'shop'],
    ['ssh://git@git.example.com:2222/acme/shop', 'ssh', 'acme', 'shop'],
    ['git+ssh://git.example.com/acme/shop.git', 'ssh', 'acme', 'shop'],
    ['git@git.example.com:acme/shop.git', 'ssh', 'acme', 'shop'],
    ['git://git.example.com/acme/shop.git/', 'git', 'acme', 'shop'],
    ['file:///tmp/x/acme/shop.git', 'file', 'acme', 'shop'],
    ['https://git.example.com/shop.git', 'https', 'git.example.com', 'shop'],
  ])('reads %s as %s, owner %s and name %s', (url, protocol, owner, name) => {
    const parsed = parseGitUrl(url) as ParsedGitUrl;

    expect(parsed.protocol).toBe(protocol);
    expect(ownerAndName(parsed)).toEqual({ owner, name });
  });

  it.each([
    ['-uhttps://x/y', 'start with "-"'],
    ['ext::sh -c touch% /tmp/pwned', 'spaces'],
    ['ext::sh', 'remote helpers'],
    ['fd::17', 'remote helpers'],
    ['ssh://-oProxyCommand=x/acme/shop', 'must not start with "-"'],
    ['-oProxyCommand=x:acme/shop', 'start with "-"'],
    ['ftp://host/acme/shop', 'not a git protocol'],
    ['/srv/git/shop.git', 'must be a URL'],
    ['https://host/acme/shop\nfatal: forged', 'control characters'],
  ])('refuses %j', (url, reason) => {
    expect(parseGitUrl(url)).toEqual(expect.stringContaining(reason));
  });
});

describe('maskGitText', () => {
  it('masks a password, and the user of an http(s) URL, wherever git repeats them', () => {
    const url = 'https://bot:s3cret@git.example.com/acme/shop.git';
    expect(maskGitText(`fatal: unable to access '${url}': s3cret`, url)).toBe(
      "fatal: unable to access 'https://bot:***@git.example.com/acme/shop.git': ***",
    );
    const tokenUrl = 'https://ghp_token123@git.example.com/acme/shop.git';
    expect(maskGitText(tokenUrl, tokenUrl)).toBe('https://***@git.example.com/acme/shop.git');
  });

  it('keeps an ssh user, which is not a secret', () => {
    expect(maskGitText('git@host:acme/shop.git', 'git@host:acme/shop.git')).toBe('git@host:acme/shop.git');
  });
});

describe('parseHeads', () => {
  it('reads each refs/heads line and skips anything else', () => {
    expect(
      parseHeads(`${SHA_A}\trefs/heads/main\n${SHA_B}\trefs/heads/feature/ABC-1\n${SHA_A}\tHEAD\n\n`),
    ).toEqual([
      { sha: SHA_A, name: 'main' },
      { sha: SHA_B, name: 'feature/ABC-1' },
    ]);
  });
});
