import { Injectable, Logger } from '@nestjs/common';
import { WriteSerializer } from '../../../database/write-serializer.js';
import { EventIntakeService } from '../../events/event-intake.service.js';
import type { Connection } from '../connection.entity.js';
import { ProviderError } from '../http/provider-error.js';
import { PartnerCallsService } from '../partner-calls.service.js';
import { isStorageProvider } from '../provider.decorator.js';
import type { StorageContext, StorageUsage, StoredFile } from '../provider.decorator.js';
import { ProviderRegistry } from '../provider.registry.js';
import { storagePath } from './storage-path.js';

export const STORAGE_LIMIT_NEAR_EVENT = 'storage.limit-near';
/** At this share of its quota a storage is near its limit. */
export const STORAGE_LIMIT_NEAR_PERCENT = 90;

/** One connection's storage, ready to use: the paths are checked before its provider sees them. */
export interface StorageHandle {
  readonly connectionId: string;
  put(path: string, content: Buffer, contentType?: string): Promise<void>;
  /** Null when nothing is stored at `path`. */
  get(path: string): Promise<Buffer | null>;
  /** Nothing stored at `path` is fine. */
  delete(path: string): Promise<void>;
  /** The files under the folder `prefix` (all of them by default), paths relative to the storage's root. */
  list(prefix?: string): Promise<StoredFile[]>;
  usage(): Promise<StorageUsage>;
}

/** Who uses the storage: a job passes its signal and log, so calls stop with it and are logged to it. */
export interface StorageCaller {
  signal?: AbortSignal;
  /** Receives one line per partner call; without it the lines go to the application log (debug). */
  log?: (line: string) => Promise<void>;
}

/** A storage's usage, and how much of its quota that is (null without a quota). */
export interface StorageLevel extends StorageUsage {
  percent: number | null;
}

/**
 * Files stored through a connection whose provider has the `storage` capability (`local`,
 * `webdav`, a plug-in's), so a module that keeps content (a sync run) need not know which kind of
 * storage an account chose. Calls go through `PartnerCallsService`: a paused or refused connection
 * is not used, and every partner call draws from the connection's rate budget.
 */
@Injectable()
export class StorageService {
  private readonly logger = new Logger(StorageService.name);

  constructor(
    private readonly calls: PartnerCallsService,
    private readonly registry: ProviderRegistry,
    private readonly events: EventIntakeService,
    private readonly serializer: WriteSerializer,
  ) {}

  /** The connection's storage; a PERMANENT ProviderError when it cannot be used or cannot store files. */
  async open(connectionId: string, caller: StorageCaller = {}): Promise<StorageHandle> {
    return (await this.opened(connectionId, caller)).handle;
  }

  /**
   * The storage's usage; at 90 % of its quota or more, announces `storage.limit-near`
   * `{ connectionId, accountId, usedBytes, quotaBytes, percent }`, each time it is checked.
   */
  async checkUsage(connectionId: string, caller: StorageCaller = {}): Promise<StorageLevel> {
    const { connection, handle } = await this.opened(connectionId, caller);
    const { usedBytes, quotaBytes } = await handle.usage();
    const percent = quotaBytes === null ? null : percentOf(usedBytes, quotaBytes);
    if (quotaBytes !== null && usedBytes * 100 >= quotaBytes * STORAGE_LIMIT_NEAR_PERCENT) {
      const data = { connectionId, accountId: connection.accountId, usedBytes, quotaBytes, percent };
      await this.serializer.transaction((manager) =>
        this.events.emitOwn(manager, [{ name: STORAGE_LIMIT_NEAR_EVENT, data }]),
      );
    }
    return { usedBytes, quotaBytes, percent };
  }

  private async opened(
    connectionId: string,
    caller: StorageCaller,
  ): Promise<{ connection: Connection; handle: StorageHandle }> {
    const { connection, opened } = await this.calls.usable(connectionId);
    const storage = this.registry.find(connection.provider)?.instance;
    if (!storage || !isStorageProvider(storage)) {
      throw new ProviderError(
        'PERMANENT',
        `connection ${connection.name} (${connection.id}) is of provider ${connection.provider}, which cannot store files`,
      );
    }
    const signal = caller.signal ?? new AbortController().signal;
    const log =
      caller.log ??
      ((line: string) => {
        this.logger.debug(line);
        return Promise.resolve();
      });
    const ctx: StorageContext = {
      connection: opened,
      signal,
      request: (request) => this.calls.request(connection, opened, { signal, log }, request),
    };
    const handle: StorageHandle = {
      connectionId,
      put: async (path, content, contentType) => storage.put(ctx, checked(path), content, contentType),
      get: async (path) => storage.get(ctx, checked(path)),
      delete: async (path) => storage.delete(ctx, checked(path)),
      list: async (prefix = '') => storage.list(ctx, checked(prefix, true)),
      usage: () => storage.usage(ctx),
    };
    return { connection, handle };
  }
}

function checked(path: string, allowEmpty = false): string {
  storagePath(path, allowEmpty);
  return path;
}

/** Used as a percentage of the quota, to one decimal; a quota of nothing is full. */
function percentOf(usedBytes: number, quotaBytes: number): number {
  return quotaBytes === 0 ? 100 : Math.round((usedBytes / quotaBytes) * 1000) / 10;
}
