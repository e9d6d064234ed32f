import { Injectable } from '@nestjs/common';
import { IsUUID } from 'class-validator';
import { Clock } from '../../common/clock.js';
import { AppConfig } from '../../config/app-config.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { JobHandler } from '../jobs/jobs.contract.js';
import type { JobContext } from '../jobs/jobs.contract.js';
import { PartnerCallsService } from '../providers/partner-calls.service.js';
import { ProviderError } from '../providers/providers.contract.js';
import type { SyncRecord } from '../providers/providers.contract.js';
import { ProvidersService } from '../providers/providers.service.js';
import { RecordStore } from './record.store.js';
import { SyncStore } from './sync.store.js';
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

/** Failures no retry mends: the run ends failed at once. */
const FINAL_CODES = new Set(['PERMANENT', 'AUTH', 'NOT_FOUND']);

/**
 * `syncs.run`: reads one content type of one connection through its provider. Each page's records
 * are stored with the checkpoint after them and the run's counters, in one transaction, so a run
 * whose worker is killed resumes, on its job's next attempt, from its last page stored, and
 * `GET` shows the counters move while it runs.
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
  ) {}

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
      const provider = this.providers.get(connection.provider);
      if (!provider.instance.read) {
        throw new ProviderError('PERMANENT', `provider ${connection.provider} cannot sync`);
      }
      const cursor = await this.store.checkpoint(run.connectionId, run.type);
      // A run that started from no checkpoint reads everything, so what it does not see is gone.
      const fullRun = run.checkpointBefore === null ? run.id : null;
      await this.store.markRunning(run.id, this.clock.now());
      const result: SyncRunResult = {
        runId: run.id,
        itemsSeen: 0,
        itemsAdded: 0,
        itemsUpdated: 0,
        itemsDeleted: 0,
        checkpoint: cursor,
      };
      let emitted: SyncRecord[] = [];
      const store = async (checkpoint: string | null) => {
        const page = emitted;
        emitted = [];
        ctx.signal.throwIfAborted();
        const now = this.clock.now();
        const counts = await this.serializer.transaction(async (manager) => {
          const counted = await this.records.apply(manager, run.connectionId, run.type, page, now, fullRun);
          if (checkpoint !== null && checkpoint !== result.checkpoint)
            await this.store.saveCheckpoint(manager, run.connectionId, run.type, checkpoint, now);
          await this.store.addPage(manager, run.id, counted, checkpoint);
          return counted;
        });
        result.itemsSeen += counts.seen;
        result.itemsAdded += counts.added;
        result.itemsUpdated += counts.updated;
        if (checkpoint !== null) result.checkpoint = checkpoint;
      };
      await provider.instance.read({
        connection: opened,
        type: run.type,
        cursor,
        signal: ctx.signal,
        request: (request) => this.calls.request(connection, opened, ctx, request),
        emit: (records) => void emitted.push(...records),
        checkpoint: (value) => store(value),
      });
      if (emitted.length > 0) await store(null);
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
          `${result.itemsDeleted} deleted${brake ? `; ${brake}` : ''}`,
      );
      return result;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const last = ctx.attempt >= ctx.maxAttempts || (typeof code === 'string' && FINAL_CODES.has(code));
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
