import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Principal } from '../../common/auth/principal.js';
import { roleAtLeast } from '../../common/auth/roles.js';
import { Clock } from '../../common/clock.js';
import { AppConfig } from '../../config/app-config.js';
import { hasErrorCode } from '../../common/errors/domain-error.js';
import { newId } from '../../common/ids.js';
import type { Page } from '../../common/pagination/pagination.js';
import { ChangeFeed } from '../../database/change-feed.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { AccountsService } from '../accounts/accounts.service.js';
import { EventIntakeService } from '../events/event-intake.service.js';
import { JobsService } from '../jobs/jobs.service.js';
import { SchedulesService } from '../schedules/schedules.service.js';
import { ConnectionsService } from '../providers/connections.service.js';
import {
  dateRange,
  enabledTypes,
  rangeKey,
  StorageService,
  syncScheduleName,
} from '../providers/providers.contract.js';
import type { Connection } from '../providers/providers.contract.js';
import { ProvidersService } from '../providers/providers.service.js';
import { RecordStore } from './record.store.js';
import type { RecordFilter, StoredRecord } from './record.store.js';
import { SyncError } from './sync.error.js';
import { SyncStore } from './sync.store.js';
import type { RunStatus, Sync, SyncRun } from './sync.store.js';

export const SYNC_RUN_JOB_TYPE = 'syncs.run';
export const SYNC_FINISHED_EVENT = 'sync.finished';
export const SYNC_PROBLEM_EVENT = 'sync.problem';
/** The change feed's topic of sync runs: each change is the run, with its account. */
export const SYNC_RUNS_TOPIC = 'sync-runs';
/** A run's job tries this many times (a worker killed midway resumes from the last page stored). */
export const SYNC_RUN_ATTEMPTS = 5;

export type SyncStatus = 'running' | 'paused' | 'succeeded' | 'partially_failed' | 'failed' | 'cancelled';

export interface SyncRequest {
  /** Connection ids of the account; all its active connections when absent. */
  connections?: string[];
  /** Content types; every type of each connection when absent. */
  types?: string[];
}

/** How one connection and content type stands: what status views show per network. */
export interface SyncStatusEntry {
  connectionId: string;
  connectionName: string;
  provider: string;
  /** The connection's state: a paused or refused one does not sync. */
  state: string;
  /** Since when the connection's syncs are paused; null while they run. */
  syncsPausedAt: Date | null;
  type: string;
  /** Whether the connection's settings have its syncs read this type. */
  enabled: boolean;
  lastRun: SyncRun | null;
  lastSyncedAt: Date | null;
  /** When the connection's sync schedule (settings.syncEvery) next fires; null while nothing schedules it. */
  nextSyncAt: Date | null;
  /** Records of the type, not deleted. */
  records: number;
  /** The latest changed records, newest first. */
  snapshots: StoredRecord[];
}

export interface AccountStats {
  total: number;
  lastSignupAt: Date | null;
  /** Connections per provider key. */
  connections: Record<string, number>;
  /** Records held, not deleted. */
  records: number;
}

/** What pausing or resuming a connection's syncs changed. */
export interface SyncPauseOutcome {
  connectionId: string;
  syncsPausedAt: Date | null;
  /** The runs it paused, or queued again. */
  runs: string[];
}

/** Snapshots a status entry shows. */
const SNAPSHOTS = 5;
/** Runs a list of an account's runs shows at most. */
const MAX_RUNS_LISTED = 200;

/** A sync with its runs, their status reconciled with their jobs, and the status derived from them. */
export interface SyncView {
  sync: Sync;
  status: SyncStatus;
  finishedAt: Date | null;
  runs: SyncRun[];
}

/**
 * The sync conductor: starts one run per (connection, content type) of an account, at most one
 * queued or running per pair (a second request answers the running one), each run a job. A run's
 * status is read through its job's state, so a run whose job died or was cancelled never shows as
 * running.
 */
@Injectable()
export class SyncsService {
  constructor(
    private readonly store: SyncStore,
    private readonly records: RecordStore,
    private readonly connections: ConnectionsService,
    private readonly providers: ProvidersService,
    private readonly accounts: AccountsService,
    private readonly jobs: JobsService,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    private readonly events: EventIntakeService,
    private readonly schedules: SchedulesService,
    private readonly config: AppConfig,
    private readonly storage: StorageService,
    private readonly feed: ChangeFeed,
  ) {}

  private readonly logger = new Logger('Syncs');

  /**
   * Announces runs' state and counters on the change feed (topic `sync-runs`) once `manager`'s
   * transaction commits, or at once outside one, when anyone can be watching.
   */
  announceRuns(runIds: string[], manager?: EntityManager): void {
    if (!this.feed.active || runIds.length === 0) return;
    this.serializer.afterCommit(manager, () => {
      this.publishRuns(runIds).catch((error: unknown) =>
        this.logger.warn(`could not announce sync runs: ${String(error)}`),
      );
    });
  }

  private async publishRuns(runIds: string[]): Promise<void> {
    const runs = await this.store.runsById(runIds);
    const accounts = new Map<string, string | undefined>();
    for (const run of runs) {
      if (!accounts.has(run.syncId))
        accounts.set(run.syncId, (await this.store.findSync(run.syncId))?.accountId);
    }
    this.feed.publish(
      runs.flatMap((run) => {
        const accountId = accounts.get(run.syncId);
        return accountId ? [{ topic: SYNC_RUNS_TOPIC, key: run.id, data: { ...run, accountId } }] : [];
      }),
    );
  }

  async start(caller: Principal, accountId: string, request: SyncRequest): Promise<SyncView> {
    await this.assertMayAct(caller, accountId);
    return this.begin(accountId, request);
  }

  /**
   * What a connection's sync schedule starts: a sync of its enabled types, unless it is gone, not
   * active, or its syncs are paused (the schedule is then paused too; a firing may cross the change).
   */
  async startScheduled(connectionId: string): Promise<SyncView | { skipped: string }> {
    const connection = await this.connections.find(connectionId);
    if (!connection) return { skipped: `no connection ${connectionId}` };
    if (connection.state !== 'active')
      return { skipped: `connection ${connection.name} is ${connection.state}` };
    if (connection.syncsPausedAt) return { skipped: `the syncs of connection ${connection.name} are paused` };
    return this.begin(connection.accountId, { connections: [connection.id] });
  }

  private async begin(accountId: string, request: SyncRequest): Promise<SyncView> {
    const pairs = this.pairs(await this.connections.ofAccount(accountId), request);
    const now = this.clock.now();
    const syncId = newId(now.getTime());
    const checkpoints = await Promise.all(
      pairs.map(([c, type]) => this.store.checkpoint(c.id, type, rangeKey(dateRange(c.settings, type)))),
    );
    const sync = await this.serializer.transaction(async (manager) => {
      const created: Sync = { id: syncId, accountId, requestedAt: now, runIds: [] };
      await this.store.insertSync(manager, created);
      for (const [index, [connection, type]] of pairs.entries()) {
        await this.settleIfEnded(manager, await this.store.activeRun(connection.id, type, manager));
        const run = this.newRun(syncId, connection.id, type, checkpoints[index], now);
        // While the connection's syncs are paused, a run asked for waits, paused, for the resume.
        if (connection.syncsPausedAt) run.status = 'paused';
        if (await this.store.insertRunUnlessActive(manager, run)) {
          if (run.status === 'queued')
            await this.store.setJob(manager, run.id, await this.enqueue(manager, run.id));
          created.runIds.push(run.id);
        } else {
          // Already queued or running: that run answers for this request too.
          created.runIds.push((await this.store.activeRun(connection.id, type, manager))!.id);
        }
      }
      await this.store.setRuns(manager, created);
      this.announceRuns(created.runIds, manager);
      return created;
    });
    const runs = await this.reconciled(await this.store.runsById(sync.runIds));
    return { sync, ...summary(runs), runs };
  }

  async get(caller: Principal, id: string): Promise<SyncView> {
    const sync = await this.store.findSync(id);
    if (!sync || !mayManage(caller, sync.accountId))
      throw new SyncError('SYNC_NOT_FOUND', `no sync with id ${id}`);
    const runs = await this.reconciled(await this.store.runsById(sync.runIds));
    return { sync, ...summary(runs), runs };
  }

  async run(caller: Principal, id: string): Promise<SyncRun> {
    const run = await this.store.findRun(id);
    const owner = run ? await this.store.findSync(run.syncId) : null;
    if (!run || !owner || !mayManage(caller, owner.accountId))
      throw new SyncError('SYNC_RUN_NOT_FOUND', `no sync run with id ${id}`);
    return (await this.reconciled([run]))[0];
  }

  /** Per connection and content type of the account: state, last run, last success, records, snapshots. */
  async status(caller: Principal, accountId: string): Promise<SyncStatusEntry[]> {
    await this.assertMayAct(caller, accountId, true);
    const entries: SyncStatusEntry[] = [];
    for (const connection of await this.connections.ofAccount(accountId)) {
      const provider = this.providers.get(connection.provider);
      if (!provider.metadata.capabilities.includes('sync') || !provider.instance.syncTypes) continue;
      const enabled = enabledTypes(provider.instance.syncTypes(connection), connection.settings);
      const schedule = await this.schedules.findByName(syncScheduleName(connection.id));
      for (const type of provider.instance.syncTypes(connection)) {
        const { run, succeededAt } = await this.store.latest(connection.id, type);
        const { available, latest } = await this.records.overview(connection.id, type, SNAPSHOTS);
        entries.push({
          connectionId: connection.id,
          connectionName: connection.name,
          provider: connection.provider,
          state: connection.state,
          syncsPausedAt: connection.syncsPausedAt,
          type,
          enabled: enabled.includes(type),
          lastRun: run ? (await this.reconciled([run]))[0] : null,
          lastSyncedAt: succeededAt,
          nextSyncAt: schedule?.enabled && enabled.includes(type) ? schedule.nextFireAt : null,
          records: available,
          snapshots: latest,
        });
      }
    }
    return entries;
  }

  /** For admins: how many accounts, the latest signup, connections per provider, and records held. */
  async stats(): Promise<AccountStats> {
    const [accounts, connections, records] = await Promise.all([
      this.accounts.totals(),
      this.connections.countByProvider(),
      this.records.countLive(),
    ]);
    return { ...accounts, connections, records };
  }

  /** The account's runs, newest first (at most 200), as their jobs say they are; only those of `status` if given. */
  async runsOfAccount(caller: Principal, accountId: string, status?: RunStatus): Promise<SyncRun[]> {
    await this.assertMayAct(caller, accountId, true);
    const ids = (await this.connections.ofAccount(accountId)).map((c) => c.id);
    // A run stored as running may have ended with its job: those stored as going are read and then filtered.
    const stored =
      status === 'queued' || status === 'running'
        ? (['queued', 'running'] as RunStatus[])
        : status
          ? [status]
          : null;
    const runs = await this.reconciled(await this.store.runsOfConnections(ids, stored, MAX_RUNS_LISTED));
    return status ? runs.filter((run) => run.status === status) : runs;
  }

  /**
   * Ends a queued or running run, in the caller's transaction, and announces it: `sync.finished`
   * with its counters. When it is the JUNCTION_SYNC_PAUSE_AFTER-th failure in a row of its
   * connection and type, the connection's syncs pause and `sync.problem` says so. Nothing when the
   * run had ended already.
   */
  async end(
    manager: EntityManager,
    runId: string,
    status: 'succeeded' | 'failed' | 'cancelled',
    error: { code: string; message: string } | null,
    at: Date,
  ): Promise<void> {
    if (!(await this.store.finish(manager, runId, status, error, at))) return;
    this.announceRuns([runId], manager);
    await this.store.forgetSeen(manager, runId);
    const run = (await this.store.findRun(runId, manager))!;
    const data = {
      runId: run.id,
      syncId: run.syncId,
      connectionId: run.connectionId,
      type: run.type,
      status,
      itemsSeen: run.itemsSeen,
      itemsAdded: run.itemsAdded,
      itemsUpdated: run.itemsUpdated,
      itemsDeleted: run.itemsDeleted,
      error,
    };
    const announced: { name: string; data: Record<string, unknown> }[] = [
      { name: SYNC_FINISHED_EVENT, data },
    ];
    if (status === 'failed') {
      const limit = this.config.syncs.pauseAfter;
      // Every limit-th failure in a row: after a resume, as many more failures pause again.
      const failedInARow = await this.store.failuresInARow(manager, run.connectionId, run.type);
      if (failedInARow % limit === 0) {
        await this.pauseIn(manager, run.connectionId, at);
        announced.push({
          name: SYNC_PROBLEM_EVENT,
          data: { ...data, failedRuns: failedInARow, paused: true },
        });
      }
    }
    await this.events.emitOwn(manager, announced);
  }

  /**
   * Pauses the connection's syncs: its sync schedule stops firing and its runs that have not
   * started wait, `paused`, for the resume (a running run goes on to its end). Answers what changed.
   */
  async pause(caller: Principal, connectionId: string): Promise<SyncPauseOutcome> {
    const connection = await this.connections.get(caller, connectionId);
    const { pausedAt, paused } = await this.serializer.transaction((manager) =>
      this.pauseIn(manager, connection.id, this.clock.now()),
    );
    // Their jobs would find them paused and do nothing; cancelled, they do not show as work to do.
    for (const { jobId } of paused) if (jobId) await this.cancelJob(jobId);
    return { connectionId: connection.id, syncsPausedAt: pausedAt, runs: paused.map((run) => run.runId) };
  }

  /** Resumes the connection's syncs: its schedule fires again and its paused runs are queued. */
  async resume(caller: Principal, connectionId: string): Promise<SyncPauseOutcome> {
    const connection = await this.connections.get(caller, connectionId);
    const resumed = await this.serializer.transaction(async (manager) => {
      await this.connections.setSyncsPaused(manager, connection.id, null);
      const runs = await this.store.pausedRuns(manager, connection.id);
      for (const run of runs) await this.store.requeue(manager, run.id, await this.enqueue(manager, run.id));
      this.announceRuns(
        runs.map((run) => run.id),
        manager,
      );
      return runs.map((run) => run.id);
    });
    return { connectionId: connection.id, syncsPausedAt: null, runs: resumed };
  }

  /** Pauses the connection's syncs in the caller's transaction: its schedule and its runs not started. */
  private async pauseIn(
    manager: EntityManager,
    connectionId: string,
    at: Date,
  ): Promise<{ pausedAt: Date | null; paused: { runId: string; jobId: string | null }[] }> {
    const connection = await this.connections.setSyncsPaused(manager, connectionId, at);
    const paused = await this.store.pauseQueued(manager, connectionId);
    this.announceRuns(
      paused.map((run) => run.runId),
      manager,
    );
    return { pausedAt: connection.syncsPausedAt, paused };
  }

  private async enqueue(manager: EntityManager, runId: string): Promise<string> {
    const [job] = await this.jobs.enqueueMany(
      [{ type: SYNC_RUN_JOB_TYPE, payload: { runId }, options: { maxAttempts: SYNC_RUN_ATTEMPTS } }],
      manager,
    );
    return job.id;
  }

  /** Cancels a job unless it has ended meanwhile. */
  private async cancelJob(jobId: string): Promise<void> {
    try {
      await this.jobs.cancel(jobId);
    } catch (error) {
      if (!hasErrorCode(error, 'JOB_NOT_CANCELLABLE')) throw error;
    }
  }

  /**
   * Cancels a queued or running run: its job is cancelled (a running one's signal aborts it). The
   * connection's next run, scheduled or asked for, is not affected.
   */
  async cancel(caller: Principal, id: string): Promise<SyncRun> {
    const run = await this.run(caller, id);
    if (run.status !== 'queued' && run.status !== 'running' && run.status !== 'paused')
      throw new SyncError('SYNC_RUN_FINISHED', `sync run ${id} is ${run.status} already`);
    // A job that ended meanwhile stays as it ended: the run says how.
    if (run.jobId) await this.cancelJob(run.jobId);
    await this.serializer.transaction((manager) =>
      this.end(manager, run.id, 'cancelled', null, this.clock.now()),
    );
    return this.run(caller, id);
  }

  /**
   * A full resync of the connection's types (all by default): their checkpoints are dropped and a
   * run of each starts from nothing, keeping the records; what the runs no longer see is marked
   * deleted at their end.
   */
  async restart(caller: Principal, connectionId: string, types?: string[]): Promise<SyncView> {
    const connection = await this.connections.get(caller, connectionId);
    const chosen = this.typesOf(connection, types);
    await this.assertIdle(connection.id, chosen);
    await this.serializer.transaction((manager) =>
      this.store.clearCheckpoints(manager, connection.id, chosen),
    );
    return this.start(caller, connection.accountId, { connections: [connection.id], types: chosen });
  }

  /** Deletes the connection's synced records and checkpoints of these types (all by default). */
  async clear(
    caller: Principal,
    connectionId: string,
    types?: string[],
  ): Promise<{ records: number; checkpoints: number }> {
    const connection = await this.connections.get(caller, connectionId);
    const chosen = this.typesOf(connection, types);
    await this.assertIdle(connection.id, chosen);
    return this.serializer.transaction(async (manager) => ({
      records: await this.records.clear(manager, connection.id, chosen),
      checkpoints: await this.store.clearCheckpoints(manager, connection.id, chosen),
    }));
  }

  /**
   * Puts back the checkpoint a past run of the connection started from, so the next run of its
   * type reads from there again (none: the next run is a full sync). Answers the checkpoint now.
   */
  async restoreCheckpoint(
    caller: Principal,
    connectionId: string,
    type: string,
    runId: string,
  ): Promise<{ type: string; checkpoint: string | null }> {
    const connection = await this.connections.get(caller, connectionId);
    const [chosen] = this.typesOf(connection, [type]);
    const run = await this.store.findRun(runId);
    if (!run || run.connectionId !== connection.id || run.type !== chosen) {
      throw new SyncError(
        'INVALID_SYNC',
        `/runId: connection ${connection.name} has no ${chosen} run ${runId}`,
        [{ path: '/runId', message: `connection ${connection.name} has no ${chosen} run ${runId}` }],
      );
    }
    await this.assertIdle(connection.id, [chosen]);
    await this.serializer.transaction(async (manager) => {
      await this.store.clearCheckpoints(manager, connection.id, [chosen]);
      if (run.checkpointBefore !== null)
        await this.store.saveCheckpoint(
          manager,
          connection.id,
          chosen,
          run.checkpointBefore,
          rangeKey(dateRange(connection.settings, chosen)),
          this.clock.now(),
        );
    });
    return { type: chosen, checkpoint: run.checkpointBefore };
  }

  /** The connection's records, by modification; the connection must be the caller's to see. */
  async recordsOf(
    caller: Principal,
    filter: RecordFilter,
    limit: number,
    cursor?: string,
  ): Promise<Page<StoredRecord>> {
    await this.connections.get(caller, filter.connectionId);
    return this.records.page(filter, limit, cursor);
  }

  async record(
    caller: Principal,
    connectionId: string,
    externalId: string,
    type?: string,
  ): Promise<StoredRecord> {
    await this.connections.get(caller, connectionId);
    const record = await this.records.find(connectionId, externalId, type);
    if (!record)
      throw new SyncError('RECORD_NOT_FOUND', `connection ${connectionId} has no record ${externalId}`);
    return record;
  }

  /** The copy of a record's content, read from the storage connection that keeps it. */
  async recordContent(
    caller: Principal,
    connectionId: string,
    externalId: string,
    type?: string,
  ): Promise<Buffer> {
    const record = await this.record(caller, connectionId, externalId, type);
    if (!record.storedConnectionId || !record.storedPath)
      throw new SyncError('COPY_NOT_FOUND', `record ${externalId} has no stored copy`);
    const storage = await this.storage.open(record.storedConnectionId);
    const content = await storage.get(record.storedPath);
    if (!content)
      throw new SyncError(
        'COPY_NOT_FOUND',
        `the stored copy of record ${externalId} is gone from its storage`,
      );
    return content;
  }

  /** These types (all the connection's by default), each one the connection has. */
  private typesOf(connection: Connection, types: string[] | undefined): string[] {
    const provider = this.providers.get(connection.provider);
    const has = provider.instance.syncTypes?.(connection) ?? [];
    const unknown = (types ?? []).filter((type) => !has.includes(type));
    if (unknown.length > 0 || has.length === 0) {
      const problems = unknown.length
        ? unknown.map((type) => ({
            path: '/types',
            message: `connection ${connection.name} has no type ${type}`,
          }))
        : [{ path: '/types', message: `connection ${connection.name} has nothing to sync` }];
      throw new SyncError(
        'INVALID_SYNC',
        problems.map((p) => `${p.path}: ${p.message}`).join('; '),
        problems,
      );
    }
    return types ?? has;
  }

  /** Refuses while a run of these types is queued or running: it would write on behind the change. */
  private async assertIdle(connectionId: string, types: string[]): Promise<void> {
    for (const type of types) {
      const active = await this.store.activeRun(connectionId, type);
      if (!active) continue;
      const [run] = await this.reconciled([active]);
      if (run.status === 'queued' || run.status === 'running') {
        throw new SyncError('SYNC_RUNNING', `a ${type} run is ${run.status} (${run.id}); cancel it or wait`);
      }
    }
  }

  /** The (connection, type) pairs a request names, each checked; the problems otherwise. */
  private pairs(all: Connection[], request: SyncRequest): [Connection, string][] {
    const problems: { path: string; message: string }[] = [];
    const named = request.connections !== undefined;
    const chosen: Connection[] = [];
    for (const [index, id] of (request.connections ?? []).entries()) {
      const connection = all.find((c) => c.id === id);
      if (!connection)
        problems.push({ path: `/connections/${index}`, message: `the account has no connection ${id}` });
      else if (connection.state !== 'active')
        problems.push({
          path: `/connections/${index}`,
          message: `connection ${connection.name} is ${connection.state}`,
        });
      else chosen.push(connection);
    }
    if (!named) chosen.push(...all.filter((c) => c.state === 'active'));
    const pairs: [Connection, string][] = [];
    for (const connection of chosen) {
      const provider = this.providers.get(connection.provider);
      const all =
        provider.metadata.capabilities.includes('sync') &&
        provider.instance.read &&
        provider.instance.syncTypes
          ? provider.instance.syncTypes(connection)
          : [];
      const types = enabledTypes(all, connection.settings);
      if (types.length === 0 && named) {
        problems.push({
          path: `/connections/${request.connections!.indexOf(connection.id)}`,
          message:
            all.length === 0
              ? `connection ${connection.name} has nothing to sync`
              : `connection ${connection.name} has no content type enabled in its settings`,
        });
      }
      for (const type of types)
        if (!request.types || request.types.includes(type)) pairs.push([connection, type]);
    }
    if (problems.length === 0 && pairs.length === 0) {
      problems.push({
        path: request.types ? '/types' : '/connections',
        message: 'nothing to sync: no connection has these types',
      });
    }
    if (problems.length > 0) {
      throw new SyncError(
        'INVALID_SYNC',
        problems.map((p) => `${p.path}: ${p.message}`).join('; '),
        problems,
      );
    }
    return pairs;
  }

  private newRun(
    syncId: string,
    connectionId: string,
    type: string,
    checkpoint: string | null,
    now: Date,
  ): SyncRun {
    return {
      id: newId(now.getTime()),
      syncId,
      connectionId,
      type,
      status: 'queued',
      itemsSeen: 0,
      itemsAdded: 0,
      itemsUpdated: 0,
      itemsDeleted: 0,
      checkpointBefore: checkpoint,
      checkpointAfter: null,
      errorCode: null,
      errorMessage: null,
      jobId: null,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
    };
  }

  /** Runs as their jobs say they are: a run left running by a job that ended shows how the job ended. */
  private async reconciled(runs: SyncRun[]): Promise<SyncRun[]> {
    return Promise.all(runs.map(async (run) => ({ ...run, ...(await this.fromJob(run)) })));
  }

  /** Records the end of a run whose job ended without recording it (killed, cancelled), so a new run may start. */
  private async settleIfEnded(manager: EntityManager, run: SyncRun | null): Promise<void> {
    if (!run) return;
    const ended = await this.fromJob(run);
    if (ended.status === 'succeeded' || ended.status === 'failed' || ended.status === 'cancelled') {
      await this.end(
        manager,
        run.id,
        ended.status,
        ended.errorCode ? { code: ended.errorCode, message: ended.errorMessage ?? '' } : null,
        ended.finishedAt ?? this.clock.now(),
      );
    }
  }

  private async fromJob(run: SyncRun): Promise<Partial<SyncRun> & { status: RunStatus }> {
    if ((run.status !== 'queued' && run.status !== 'running') || !run.jobId) return { status: run.status };
    // The job alone: its status is all a run needs, not its attempts and log.
    const job = await this.jobs.find(run.jobId);
    if (!job)
      return { status: 'failed', errorCode: 'JOB_GONE', errorMessage: 'the run’s job no longer exists' };
    switch (job.status) {
      case 'dead':
        return {
          status: 'failed',
          errorCode: job.lastError?.code ?? 'FAILED',
          errorMessage: job.lastError?.message ?? 'the run’s job failed',
          finishedAt: job.finishedAt,
        };
      case 'cancelled':
        return { status: 'cancelled', finishedAt: job.finishedAt };
      case 'succeeded':
        return { status: 'succeeded', finishedAt: job.finishedAt };
      case 'running':
        return { status: 'running' };
      case 'queued':
      case 'failed':
        // Waiting to start, or to try again after a failed attempt.
        return { status: run.startedAt ? 'running' : 'queued' };
    }
  }

  /** The caller is the account or an operator; to a `reading` caller another account is not found. */
  private async assertMayAct(caller: Principal, accountId: string, reading = false): Promise<void> {
    if (!mayManage(caller, accountId)) {
      if (reading) throw new SyncError('ACCOUNT_NOT_FOUND', `no account with id ${accountId}`);
      throw new SyncError('NOT_YOUR_ACCOUNT', 'only an operator may sync another account');
    }
    try {
      await this.accounts.get(accountId);
    } catch (error) {
      if (hasErrorCode(error, 'ACCOUNT_NOT_FOUND'))
        throw new SyncError('ACCOUNT_NOT_FOUND', `no account with id ${accountId}`);
      throw error;
    }
  }
}

function mayManage(caller: Principal, accountId: string): boolean {
  return caller.accountId === accountId || roleAtLeast(caller.role, 'operator');
}

/**
 * A sync's status from its runs': running while any is; paused while any waits for its
 * connection's syncs to resume; else all succeeded, all failed, or partly.
 */
function summary(runs: SyncRun[]): { status: SyncStatus; finishedAt: Date | null } {
  const statuses = runs.map((run) => run.status);
  if (statuses.some((s) => s === 'queued' || s === 'running')) return { status: 'running', finishedAt: null };
  if (statuses.includes('paused')) return { status: 'paused', finishedAt: null };
  const finishedAt = runs.reduce<Date | null>(
    (latest, run) => (run.finishedAt && (!latest || run.finishedAt > latest) ? run.finishedAt : latest),
    null,
  );
  const status: SyncStatus = statuses.every((s) => s === 'succeeded')
    ? 'succeeded'
    : statuses.every((s) => s === 'cancelled')
      ? 'cancelled'
      : statuses.every((s) => s === 'failed' || s === 'cancelled')
        ? 'failed'
        : 'partially_failed';
  return { status, finishedAt };
}
