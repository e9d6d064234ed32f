import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from './load-config.js';
import { resolveSecretKey, SECRET_KEY_FILE } from './secret-key.js';

describe('resolveSecretKey', () => {
  let dir: string;
  let keyFile: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-secret-key-'));
    keyFile = path.join(dir, SECRET_KEY_FILE);
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const configIn = (folder: string, env: Record<string, string> = {}) =>
    loadConfig({ DATABASE_URL: 'sqlite:' + path.join(folder, 'j.sqlite'), ...env });

  it('creates secret.key with mode 0600 when there is no key file', () => {
    const result = resolveSecretKey(configIn(dir));

    expect(result.source).toBe('created');
    expect(result.key).toHaveLength(32);
    expect(fs.existsSync(keyFile)).toBe(true);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(keyFile, 'utf8').trim()).toBe(result.key.toString('hex'));
  });

  it('returns the same key from the file without rewriting it when the file exists', () => {
    const first = resolveSecretKey(configIn(dir));
    const before = fs.statSync(keyFile);
    const contentBefore = fs.readFileSync(keyFile, 'utf8');

    const second = resolveSecretKey(configIn(dir));

    expect(second.source).toBe('file');
    expect(second.key.equals(first.key)).toBe(true);
    const after = fs.statSync(keyFile);
    expect(fs.readFileSync(keyFile, 'utf8')).toBe(contentBefore);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(after.ino).toBe(before.ino);
  });

  it('returns the env key and writes no file when JUNCTION_SECRET_KEY is set', () => {
    const hex = 'cd'.repeat(32);

    const result = resolveSecretKey(configIn(dir, { JUNCTION_SECRET_KEY: hex }));

    expect(result.source).toBe('env');
    expect(result.key.toString('hex')).toBe(hex);
    expect(fs.existsSync(keyFile)).toBe(false);
  });

  it('throws an error naming the file when the key file is corrupt', () => {
    fs.writeFileSync(keyFile, 'not a key\n');

    expect(() => resolveSecretKey(configIn(dir))).toThrow(keyFile);
    expect(fs.readFileSync(keyFile, 'utf8')).toBe('not a key\n');
  });
});
