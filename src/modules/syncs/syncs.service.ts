import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Principal } from '../../common/auth/principal.js';
import { roleAtLeast } from '../../common/auth/roles.js';
import { Clock } from '../../common/clock.js';
import { hasErrorCode } from '../../common/errors/domain-error.js';
import { newId } from '../../common/ids.js';
import type { Page } from '../../common/pagination/pagination.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { AccountsService } from '../accounts/accounts.service.js';
import { EventIntakeService } from '../events/event-intake.service.js';
import { JobsService } from '../jobs/jobs.service.js';
import { ConnectionsService } from '../providers/connections.service.js';
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
/** This many failed runs in a row of one connection and type is a problem someone should look at. */
export const FAILURES_FOR_PROBLEM = 10;
/** A run's job tries this many times (a worker killed midway resumes from the last page stored). */
export const SYNC_RUN_ATTEMPTS = 5;

export type SyncStatus = 'running' | 'succeeded' | 'partially_failed' | 'failed' | 'cancelled';

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
  type: string;
  lastRun: SyncRun | null;
  lastSyncedAt: Date | null;
  /** When the next run is due; null while nothing schedules it. */
  nextSyncAt: Date | null;
  /** Records of the type, not deleted. */
  records: number;
  /** The latest changed records, newest first. */
  snapshots: StoredRecord[];
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
  ) {}

  async start(caller: Principal, accountId: string, request: SyncRequest): Promise<SyncView> {
    await this.assertMayAct(caller, accountId);
    const pairs = this.pairs(await this.connections.ofAccount(accountId), request);
    const now = this.clock.now();
    const syncId = newId(now.getTime());
    const checkpoints = await Promise.all(pairs.map(([c, type]) => this.store.checkpoint(c.id, type)));
    const sync = await this.serializer.transaction(async (manager) => {
      const created: Sync = { id: syncId, accountId, requestedAt: now, runIds: [] };
      await this.store.insertSync(manager, created);
      for (const [index, [connection, type]] of pairs.entries()) {
        await this.settleIfEnded(manager, await this.store.activeRun(connection.id, type, manager));
        const run = this.newRun(syncId, connection.id, type, checkpoints[index], now);
        if (await this.store.insertRunUnlessActive(manager, run)) {
          const [job] = await this.jobs.enqueueMany(
            [
              {
                type: SYNC_RUN_JOB_TYPE,
                payload: { runId: run.id },
                options: { maxAttempts: SYNC_RUN_ATTEMPTS },
              },
            ],
            manager,
          );
          await this.store.setJob(manager, run.id, job.id);
          created.runIds.push(run.id);
        } else {
          // Already queued or running: that run answers for this request too.
          created.runIds.push((await this.store.activeRun(connection.id, type, manager))!.id);
        }
      }
      await this.store.setRuns(manager, created);
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
      for (const type of provider.instance.syncTypes(connection)) {
        const { run, succeededAt } = await this.store.latest(connection.id, type);
        const { available, latest } = await this.records.overview(connection.id, type, SNAPSHOTS);
        entries.push({
          connectionId: connection.id,
          connectionName: connection.name,
          provider: connection.provider,
          state: connection.state,
          type,
          lastRun: run ? (await this.reconciled([run]))[0] : null,
          lastSyncedAt: succeededAt,
          nextSyncAt: null,
          records: available,
          snapshots: latest,
        });
      }
    }
    return entries;
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
   * with its counters, and `sync.problem` when it is the tenth failure in a row of its connection
   * and type. Nothing when the run had ended already.
   */
  async end(
    manager: EntityManager,
    runId: string,
    status: 'succeeded' | 'failed' | 'cancelled',
    error: { code: string; message: string } | null,
    at: Date,
  ): Promise<void> {
    if (!(await this.store.finish(manager, runId, status, error, at))) return;
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
      const recent = await this.store.recentStatuses(
        manager,
        run.connectionId,
        run.type,
        FAILURES_FOR_PROBLEM + 1,
      );
      const failedInARow = recent.findIndex((s) => s !== 'failed');
      if ((failedInARow === -1 ? recent.length : failedInARow) === FAILURES_FOR_PROBLEM) {
        announced.push({
          name: SYNC_PROBLEM_EVENT,
          data: { ...data, failedRuns: FAILURES_FOR_PROBLEM },
        });
      }
    }
    await this.events.emitOwn(manager, announced);
  }

  /**
   * Cancels a queued or running run: its job is cancelled (a running one's signal aborts it). The
   * connection's next run, scheduled or asked for, is not affected.
   */
  async cancel(caller: Principal, id: string): Promise<SyncRun> {
    const run = await this.run(caller, id);
    if (run.status !== 'queued' && run.status !== 'running')
      throw new SyncError('SYNC_RUN_FINISHED', `sync run ${id} is ${run.status} already`);
    if (run.jobId) {
      try {
        await this.jobs.cancel(run.jobId);
      } catch (error) {
        // It ended meanwhile: the run says how.
        if (!hasErrorCode(error, 'JOB_NOT_CANCELLABLE')) throw error;
      }
    }
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
      const types =
        provider.metadata.capabilities.includes('sync') &&
        provider.instance.read &&
        provider.instance.syncTypes
          ? provider.instance.syncTypes(connection)
          : [];
      if (types.length === 0 && named) {
        problems.push({
          path: `/connections/${request.connections!.indexOf(connection.id)}`,
          message: `connection ${connection.name} has nothing to sync`,
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

/** A sync's status from its runs': running while any is; else all succeeded, all failed, or partly. */
function summary(runs: SyncRun[]): { status: SyncStatus; finishedAt: Date | null } {
  const statuses = runs.map((run) => run.status);
  if (statuses.some((s) => s === 'queued' || s === 'running')) return { status: 'running', finishedAt: null };
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
