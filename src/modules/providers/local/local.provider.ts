import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Injectable } from '@nestjs/common';
import type { SchemaViolation } from '../../../common/json-schema.js';
import { AppConfig } from '../../../config/app-config.js';
import { ProviderError } from '../http/provider-error.js';
import { Provider } from '../provider.decorator.js';
import type {
  ConnectionProvider,
  ProviderConnection,
  StorageContext,
  StorageUsage,
  StoredFile,
} from '../provider.decorator.js';
import { storagePath, storagePathProblem } from '../storage/storage-path.js';

export const LOCAL_PROVIDER_KEY = 'local';

/** A connection's config for the `local` provider. */
export interface LocalConfig {
  /** Relative to the installation's `JUNCTION_STORAGE_LOCAL_ROOT`. */
  folder: string;
  quotaBytes?: number;
}

const LOCAL_CONFIG_SCHEMA = {
  type: 'object',
  required: ['folder'],
  additionalProperties: false,
  properties: {
    folder: {
      type: 'string',
      minLength: 1,
      maxLength: 1024,
      description:
        'A folder under the installation’s storage root (JUNCTION_STORAGE_LOCAL_ROOT), such as `acme/photos`',
    },
    quotaBytes: { type: 'integer', minimum: 1, description: 'How much the folder may hold, in bytes' },
  },
};

/** Files being written carry this suffix until they are renamed into place; listings leave them out. */
const TEMP_SUFFIX = '.junction-tmp';

/** Errors a retry will not cure: the disk refuses, or the path is not what it should be. */
const PERMANENT_FS_CODES = new Set([
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOSPC',
  'EDQUOT',
  'EISDIR',
  'ENOTDIR',
  'EEXIST',
]);

/**
 * Storage in a folder of the server Junction runs on. The installation chooses the root
 * (`JUNCTION_STORAGE_LOCAL_ROOT`) and a connection only a folder under it, and every path is
 * resolved through symbolic links and checked to stay inside that folder, so an account cannot
 * read or write anywhere else on the server. Writes go to a temporary file renamed into place, so
 * a reader never sees half a file.
 */
@Injectable()
@Provider({
  key: LOCAL_PROVIDER_KEY,
  title: 'A folder on the Junction server',
  kinds: ['storage'],
  configSchema: LOCAL_CONFIG_SCHEMA,
  credentialTypes: ['none'],
  capabilities: ['storage'],
})
export class LocalProvider implements ConnectionProvider {
  constructor(private readonly config: AppConfig) {}

  /** The folder follows the rules of any storage path, so it stays under the root. */
  validate(config: Record<string, unknown>): SchemaViolation[] {
    const problem = storagePathProblem((config as unknown as LocalConfig).folder);
    return problem === null ? [] : [{ path: '/config/folder', message: problem }];
  }

  /** Creates the folder if it is missing and writes and removes a file there. */
  async check(connection: ProviderConnection): Promise<void> {
    const folder = await this.folder(connection);
    const probe = path.join(folder, `.junction-check-${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
    await attempt('the folder is not writable', async () => {
      await fs.mkdir(folder, { recursive: true });
      await fs.writeFile(probe, '');
      await fs.rm(probe, { force: true });
    });
  }

  async put(ctx: StorageContext, file: string, content: Buffer): Promise<void> {
    const target = await this.file(ctx.connection, file);
    const temp = path.join(
      path.dirname(target),
      `.${path.basename(target)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`,
    );
    await attempt(`could not store ${file}`, async () => {
      await fs.mkdir(path.dirname(target), { recursive: true });
      // Checked again now the folders exist: a symbolic link put there meanwhile must not lead the write out.
      await this.file(ctx.connection, file);
      try {
        await fs.writeFile(temp, content, { flag: 'wx', signal: ctx.signal });
        await fs.rename(temp, target);
      } catch (error) {
        await fs.rm(temp, { force: true });
        throw error;
      }
    });
  }

  async get(ctx: StorageContext, file: string): Promise<Buffer | null> {
    const target = await this.file(ctx.connection, file);
    return attempt(`could not read ${file}`, async () => {
      try {
        return await fs.readFile(target, { signal: ctx.signal });
      } catch (error) {
        if (hasCode(error, 'ENOENT')) return null;
        throw error;
      }
    });
  }

  async delete(ctx: StorageContext, file: string): Promise<void> {
    const target = await this.file(ctx.connection, file);
    await attempt(`could not delete ${file}`, () => fs.rm(target, { force: true }));
  }

  async list(ctx: StorageContext, prefix: string): Promise<StoredFile[]> {
    const folder = await this.folder(ctx.connection);
    const start = await this.file(ctx.connection, prefix, true);
    const found = await attempt(`could not list ${prefix || 'the folder'}`, () => filesUnder(start));
    return found
      .map(({ file, size }) => ({ path: path.relative(folder, file).split(path.sep).join('/'), size }))
      .sort((a, b) => a.path.localeCompare(b.path));
  }

  /** What the files under the folder add up to; the quota is the connection's own. */
  async usage(ctx: StorageContext): Promise<StorageUsage> {
    const folder = await this.folder(ctx.connection);
    const found = await attempt('could not measure the folder', () => filesUnder(folder));
    return {
      usedBytes: found.reduce((sum, { size }) => sum + size, 0),
      quotaBytes: (ctx.connection.config as unknown as LocalConfig).quotaBytes ?? null,
    };
  }

  /** The connection's folder, real (links resolved), under the root. */
  private async folder(connection: ProviderConnection): Promise<string> {
    const root = path.resolve(this.config.storage.localRoot);
    await attempt('the storage root is not usable', () => fs.mkdir(root, { recursive: true }));
    const { folder } = connection.config as unknown as LocalConfig;
    return confined(root, storagePath(folder), `the folder ${folder}`);
  }

  /** Where `file` is, real (links resolved), inside the connection's folder. */
  private async file(connection: ProviderConnection, file: string, allowEmpty = false): Promise<string> {
    return confined(await this.folder(connection), storagePath(file, allowEmpty), file);
  }
}

/**
 * `segments` under `base`, with every symbolic link on the way resolved; a PERMANENT error when that
 * leads outside `base`. What does not exist yet is taken as written, below its nearest existing
 * folder.
 */
async function confined(base: string, segments: string[], shown: string): Promise<string> {
  const realBase = await realOf(base);
  const real = await realOf(path.join(base, ...segments));
  if (real !== realBase && !real.startsWith(realBase + path.sep))
    throw new ProviderError('PERMANENT', `${shown} leads outside the connection's folder`);
  return real;
}

/** The real path of `target`: that of its nearest existing ancestor, with the rest appended. */
async function realOf(target: string): Promise<string> {
  const missing: string[] = [];
  let existing = target;
  for (;;) {
    try {
      return path.join(await fs.realpath(existing), ...missing.reverse());
    } catch (error) {
      const parent = path.dirname(existing);
      if (!hasCode(error, 'ENOENT') || parent === existing) throw failure('could not resolve a path', error);
      missing.push(path.basename(existing));
      existing = parent;
    }
  }
}

/** The files under `folder` with their sizes; symbolic links are not followed, half-written files left out. */
async function filesUnder(folder: string): Promise<{ file: string; size: number }[]> {
  let entries;
  try {
    entries = await fs.readdir(folder, { withFileTypes: true, recursive: true });
  } catch (error) {
    if (hasCode(error, 'ENOENT') || hasCode(error, 'ENOTDIR')) return [];
    throw error;
  }
  const files = entries
    .filter((entry) => entry.isFile() && !entry.name.endsWith(TEMP_SUFFIX))
    .map((entry) => path.join(entry.parentPath, entry.name));
  const sized = await Promise.all(
    files.map(async (file) => {
      try {
        return { file, size: (await fs.lstat(file)).size };
      } catch (error) {
        // Deleted while the folder was read.
        if (hasCode(error, 'ENOENT')) return null;
        throw error;
      }
    }),
  );
  return sized.filter((entry) => entry !== null);
}

/** Runs a file system operation; its failure becomes a ProviderError that names no server path. */
async function attempt<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw failure(what, error);
  }
}

function failure(what: string, error: unknown): unknown {
  if (error instanceof ProviderError || (error as { name?: unknown }).name === 'AbortError') return error;
  const code =
    typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'ERROR';
  return new ProviderError(PERMANENT_FS_CODES.has(code) ? 'PERMANENT' : 'TEMPORARY', `${what}: ${code}`, {
    cause: error,
  });
}

function hasCode(error: unknown, code: string): boolean {
  return (error as { code?: unknown }).code === code;
}
