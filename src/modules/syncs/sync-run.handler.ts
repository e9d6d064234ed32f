import { Injectable } from '@nestjs/common';
import { IsUUID } from 'class-validator';
import { Clock } from '../../common/clock.js';
import { AppConfig } from '../../config/app-config.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { DEFERRED_CODE, JobHandler } from '../jobs/jobs.contract.js';
import type { JobContext } from '../jobs/jobs.contract.js';
import { PartnerCallsService } from '../providers/partner-calls.service.js';
import { dateRange, ProviderError, rangeKey, StorageService } from '../providers/providers.contract.js';
import type { StorageHandle, SyncRecord } from '../providers/providers.contract.js';
import { ProvidersService } from '../providers/providers.service.js';
import { RecordStore } from './record.store.js';
import { readConfigKey, refusesPageToken } from './resume-point.js';
import { SyncStore } from './sync.store.js';
import type { ResumePoint } from './sync.store.js';
import { SYNC_RUN_ATTEMPTS, SYNC_RUN_JOB_TYPE, SyncsService } from './syncs.service.js';

export class SyncRunPayload {
  @IsUUID()
  runId!: string;
}

export interface SyncRunResult {
  runId: string;
  itemsSeen: number;
  itemsAdded: number;
  itemsUpdated: number;
  itemsDeleted: number;
  checkpoint: string | null;
}

/** Items whose content is fetched and copied at once. */
const COPIES_AT_ONCE = 4;

/**
 * Where an item's copy goes in its storage: `<connection>/<type>/<external id>`, the id escaped so
 * that it is one path segment whatever it holds (`/`, `..`).
 */
export function copyPath(connectionId: string, type: string, externalId: string): string {
  return `${connectionId}/${type}/${encodeURIComponent(externalId).replace(/\./g, '%2E')}`;
}

/** Failures no retry mends: the run ends failed at once. */
const FINAL_CODES = new Set(['PERMANENT', 'AUTH', 'NOT_FOUND']);

/**
 * `syncs.run`: reads one content type of one connection through its provider. Each page's records
 * are stored with the checkpoint after them, the next page's token and the run's counters, in one
 * transaction, so a run whose job is deferred or retried, or whose worker is killed, goes on at the
 * page after its last one stored, and `GET` shows the counters move while it runs.
 */
@Injectable()
export class SyncRunHandler {
  constructor(
    private readonly store: SyncStore,
    private readonly records: RecordStore,
    private readonly calls: PartnerCallsService,
    private readonly providers: ProvidersService,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly syncs: SyncsService,
    private readonly storage: StorageService,
  ) {}

  /**
   * Copies the content of a page's records that are new, changed or not copied yet into the
   * storage, a few at a time; answers each one's path there by external id.
   */
  private async copy(
    storage: StorageHandle,
    connectionId: string,
    type: string,
    page: SyncRecord[],
  ): Promise<Map<string, string>> {
    const needed = (await this.records.needingCopy(connectionId, type, page, storage.connectionId)).filter(
      (record) => record.content,
    );
    const paths = new Map<string, string>();
    for (let at = 0; at < needed.length; at += COPIES_AT_ONCE) {
      await Promise.all(
        needed.slice(at, at + COPIES_AT_ONCE).map(async (record) => {
          const path = copyPath(connectionId, type, record.externalId);
          await storage.put(path, await record.content!());
          paths.set(record.externalId, path);
        }),
      );
    }
    return paths;
  }

  /** After copies were made: a storage near its quota says so (`storage.limit-near`); a failed check fails nothing. */
  private async checkStorage(storageId: string, ctx: JobContext<SyncRunPayload>): Promise<void> {
    try {
      const { percent } = await this.storage.checkUsage(storageId, ctx);
      if (percent !== null) await ctx.log(`storage ${storageId} is ${percent}% full`);
    } catch (error) {
      await ctx.log(`could not read the usage of storage ${storageId}: ${(error as Error).message}`);
    }
  }

  @JobHandler(SYNC_RUN_JOB_TYPE, {
    queue: 'syncs',
    maxAttempts: SYNC_RUN_ATTEMPTS,
    backoff: { baseMs: 5000, factor: 2, maxMs: 300_000 },
    timeoutMs: 3_600_000,
    payload: SyncRunPayload,
  })
  async run(ctx: JobContext<SyncRunPayload>): Promise<SyncRunResult | { skipped: string }> {
    const run = await this.store.findRun(ctx.payload.runId);
    if (!run) return { skipped: `no sync run ${ctx.payload.runId}: its connection was deleted` };
    if (run.status !== 'queued' && run.status !== 'running') return { skipped: `the run is ${run.status}` };
    try {
      const { connection, opened } = await this.calls.usable(run.connectionId);
      const provider = this.providers.get(connection.provider).instance;
      if (!provider.read) {
        throw new ProviderError('PERMANENT', `provider ${connection.provider} cannot sync`);
      }
      const read = provider.read.bind(provider);
      const range = dateRange(connection.settings, run.type);
      const ranged = rangeKey(range);
      const configKey = readConfigKey(opened.config, run.type);
      const cursor = await this.store.checkpoint(run.connectionId, run.type, ranged);
      // A page token is good only for the query it came from: one of another date range or config is not used.
      const point = await this.store.resumePoint(run.id);
      const resume = point?.range === ranged && point.config === configKey ? point : null;
      if (point && !resume) {
        await ctx.log(
          `${run.type}: the stream's ${point.range === ranged ? 'config' : 'date range'} changed since the run ` +
            `was cut short, so its saved page token is not used; reading from the checkpoint`,
        );
        await this.serializer.transaction((manager) => this.store.forgetResume(manager, run.id));
      }
      // What the pages' query is built from, kept with each token so a resumed read asks the same.
      const since = resume ? resume.cursor : cursor;
      // A run that started from no checkpoint over all dates reads everything, so what it does not see is gone.
      const fullRun = run.checkpointBefore === null && !range.from && !range.to ? run.id : null;
      await this.store.markRunning(run.id, this.clock.now());
      this.syncs.announceRuns([run.id]);
      const result: SyncRunResult = {
        runId: run.id,
        itemsSeen: 0,
        itemsAdded: 0,
        itemsUpdated: 0,
        itemsDeleted: 0,
        checkpoint: cursor,
      };
      const storageId = connection.settings.storageConnectionId;
      const storage = storageId ? await this.storage.open(storageId, ctx) : null;
      let copied = 0;
      let emitted: SyncRecord[] = [];
      const store = async (checkpoint: string | null, nextPage: string | null) => {
        const page = emitted;
        emitted = [];
        ctx.signal.throwIfAborted();
        // Copies are made before the page is stored, so a record never points to a missing one.
        const copies = storage ? await this.copy(storage, run.connectionId, run.type, page) : null;
        copied += copies?.size ?? 0;
        const now = this.clock.now();
        const counts = await this.serializer.transaction(async (manager) => {
          const counted = await this.records.apply(manager, run.connectionId, run.type, page, now, fullRun);
          if (copies && copies.size > 0)
            await this.records.setCopies(manager, run.connectionId, run.type, storage!.connectionId, copies);
          if (checkpoint !== null && checkpoint !== result.checkpoint)
            await this.store.saveCheckpoint(manager, run.connectionId, run.type, checkpoint, ranged, now);
          await this.store.addPage(
            manager,
            run.id,
            counted,
            checkpoint,
            nextPage === null ? null : { page: nextPage, cursor: since, range: ranged, config: configKey },
          );
          return counted;
        });
        this.syncs.announceRuns([run.id]);
        result.itemsSeen += counts.seen;
        result.itemsAdded += counts.added;
        result.itemsUpdated += counts.updated;
        if (checkpoint !== null) result.checkpoint = checkpoint;
      };
      // Pages the read has handed over in this attempt: until the first, its only calls were for it.
      let pages = 0;
      const readFrom = (start: string | null, at: ResumePoint | null) =>
        read({
          connection: opened,
          type: run.type,
          cursor: start,
          resume: at ? { page: at.page, cursor: at.cursor } : undefined,
          range,
          signal: ctx.signal,
          request: (request) => this.calls.request(connection, opened, ctx, request),
          emit: (records) => void emitted.push(...records),
          checkpoint: (value, nextPage) => {
            pages++;
            return store(value, nextPage ?? null);
          },
        });
      try {
        await readFrom(cursor, resume);
      } catch (error) {
        // A saved token the partner no longer honours (it expired while the run waited) says nothing
        // about the connection: the pass is read again from its first page, with the query the token
        // came from. Records are upserts, so the pages read twice store nothing twice.
        if (!resume || pages > 0 || ctx.signal.aborted || !refusesPageToken(error)) throw error;
        await ctx.log(
          `${run.type}: the partner refused the page token saved when the run was cut short ` +
            `(${error.message}); reading the pass again from its first page`,
        );
        await this.serializer.transaction((manager) => this.store.forgetResume(manager, run.id));
        emitted = [];
        await readFrom(resume.cursor, null);
      }
      if (emitted.length > 0) await store(null, null);
      const brake = await this.serializer.transaction(async (manager) => {
        const now = this.clock.now();
        const swept = fullRun
          ? await this.records.sweep(
              manager,
              run.connectionId,
              run.type,
              run.id,
              this.config.syncs.deleteBrakePercent,
              now,
            )
          : { deleted: 0 };
        if ('braked' in swept) {
          const message =
            `deleting ${swept.braked} of ${swept.of} ${run.type} records (more than ` +
            `${this.config.syncs.deleteBrakePercent}%) looks like a partner fault; nothing was deleted`;
          await this.syncs.end(manager, run.id, 'failed', { code: 'DELETE_BRAKE', message }, now);
          return message;
        }
        result.itemsDeleted = swept.deleted;
        if (swept.deleted > 0) await this.store.addDeleted(manager, run.id, swept.deleted);
        await this.syncs.end(manager, run.id, 'succeeded', null, now);
        return null;
      });
      await ctx.log(
        `${run.type}: ${result.itemsSeen} seen, ${result.itemsAdded} added, ${result.itemsUpdated} updated, ` +
          `${result.itemsDeleted} deleted${copied > 0 ? `, ${copied} copied to storage` : ''}${brake ? `; ${brake}` : ''}`,
      );
      if (storageId && copied > 0) await this.checkStorage(storageId, ctx);
      return result;
    } catch (error) {
      const { code, retryAfterMs } = error as { code?: unknown; retryAfterMs?: unknown };
      // A deferral spends no attempt, even the last: the job runs again and the run goes on.
      const deferred = code === DEFERRED_CODE && typeof retryAfterMs === 'number';
      const last =
        !deferred && (ctx.attempt >= ctx.maxAttempts || (typeof code === 'string' && FINAL_CODES.has(code)));
      // A cancelled or timed-out job is not a failure of the run's own making: its state says so.
      if (last && !ctx.signal.aborted) {
        await this.serializer.transaction((manager) =>
          this.syncs.end(
            manager,
            run.id,
            'failed',
            {
              code: typeof code === 'string' ? code : 'FAILED',
              message: (error as Error).message ?? String(error),
            },
            this.clock.now(),
          ),
        );
      }
      throw error;
    }
  }
}
