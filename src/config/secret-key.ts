import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AppConfig } from './app-config.js';
import { parseSecretKey } from './load-config.js';

export const SECRET_KEY_FILE = 'secret.key';

/**
 * The key that encrypts stored secrets: `JUNCTION_SECRET_KEY` when set, otherwise the key file in
 * the data folder, created once with fresh random bytes. Losing the file makes stored secrets
 * unreadable, so it is never overwritten.
 */
export function resolveSecretKey(config: AppConfig): { key: Buffer; source: 'env' | 'file' | 'created' } {
  if (config.secretKey) return { key: config.secretKey, source: 'env' };
  const file = path.join(config.dataDir, SECRET_KEY_FILE);
  fs.mkdirSync(config.dataDir, { recursive: true });
  try {
    fs.writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
    return { key: readKeyFile(file), source: 'created' };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { key: readKeyFile(file), source: 'file' };
  }
}

function readKeyFile(file: string): Buffer {
  try {
    return parseSecretKey(fs.readFileSync(file, 'utf8').trim());
  } catch (error) {
    throw new Error(`${file}: expected ${(error as Error).message}`);
  }
}
