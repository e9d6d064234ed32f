import {
  applyDecorators,
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
  PickType,
} from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsUUID, Matches } from 'class-validator';
import { CurrentPrincipal } from '../../common/auth/principal.js';
import type { Principal } from '../../common/auth/principal.js';
import { Roles } from '../../common/auth/roles.js';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import { PageDto, PageQueryDto, mapPage } from '../../common/pagination/pagination.js';
import { IsoTime } from '../../common/validation/iso-time.decorator.js';
import { RECORD_ACTIONS } from './record.store.js';
import type { RecordAction, StoredRecord } from './record.store.js';
import { RUN_STATUSES } from './sync.store.js';
import type { RunStatus, SyncRun } from './sync.store.js';
import { SyncsService } from './syncs.service.js';
import type { SyncStatus, SyncView } from './syncs.service.js';

const TYPE_PATTERN = /^[a-z0-9]+([_-][a-z0-9]+)*$/;

export class StartSyncDto {
  @ApiPropertyOptional({
    type: [String],
    example: ['019abc12-3def-7456-89ab-cdef01234567'],
    description: 'Connections of the account; all its active ones when absent',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsUUID('all', { each: true })
  connections?: string[];

  @ApiPropertyOptional({ type: [String], example: ['photos'], description: 'Content types; all when absent' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @Matches(TYPE_PATTERN, { each: true, message: 'each type must be a content type name' })
  types?: string[];
}

export class SyncTypesDto {
  @ApiPropertyOptional({
    type: [String],
    example: ['photos'],
    description: 'Content types; all the connection’s when absent',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @Matches(TYPE_PATTERN, { each: true, message: 'each type must be a content type name' })
  types?: string[];
}

export class RestoreCheckpointDto {
  @ApiProperty({ example: 'photos' })
  @Matches(TYPE_PATTERN, { message: 'type must be a content type name' })
  type!: string;

  @ApiProperty({
    format: 'uuid',
    example: '019abc12-3def-7456-89ab-cdef01234567',
    description: 'A past run of the type',
  })
  @IsUUID()
  runId!: string;
}

export class CheckpointDto {
  @ApiProperty({ example: 'photos' })
  type!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '2026-12-01T10:00:00Z',
    description: 'Null: the next run is a full sync',
  })
  checkpoint!: string | null;
}

export class ClearedDto {
  @ApiProperty({ example: 120, description: 'Records deleted' })
  records!: number;

  @ApiProperty({ example: 1, description: 'Checkpoints deleted: the next run of each type is a full sync' })
  checkpoints!: number;
}

export class SyncPauseDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  connectionId!: string;

  @ApiProperty({
    type: Date,
    nullable: true,
    description: 'Since when its syncs are paused; null once resumed',
  })
  syncsPausedAt!: Date | null;

  @ApiProperty({
    type: [String],
    example: ['019abc12-3def-7456-89ab-cdef01234568'],
    description: 'The runs it paused (pause) or queued again (resume)',
  })
  runs!: string[];
}

export class AccountStatsDto {
  @ApiProperty({ example: 42, description: 'Accounts' })
  total!: number;

  @ApiProperty({ type: Date, nullable: true, description: 'When the newest account was made' })
  lastSignupAt!: Date | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { http: 12, webdav: 3 },
    description: 'Connections per provider',
  })
  connections!: Record<string, number>;

  @ApiProperty({ example: 120000, description: 'Synced records held, not marked deleted' })
  records!: number;
}

export class SyncErrorDto {
  @ApiProperty({ example: 'TEMPORARY' })
  code!: string;

  @ApiProperty({ example: 'GET https://partner.example/photos answered 503' })
  message!: string;
}

export class SyncRunDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  syncId!: string;

  @ApiProperty({ format: 'uuid' })
  connectionId!: string;

  @ApiProperty({ example: 'photos' })
  type!: string;

  @ApiProperty({ enum: RUN_STATUSES, example: 'running', description: 'Read through the run’s job' })
  status!: RunStatus;

  @ApiProperty({ example: 500 })
  itemsSeen!: number;

  @ApiProperty({ example: 20 })
  itemsAdded!: number;

  @ApiProperty({ example: 3 })
  itemsUpdated!: number;

  @ApiProperty({ example: 0 })
  itemsDeleted!: number;

  @ApiProperty({ type: String, nullable: true, example: null, description: 'Null: a full sync' })
  checkpointBefore!: string | null;

  @ApiProperty({ type: String, nullable: true, example: '2026-12-01T10:00:00Z' })
  checkpointAfter!: string | null;

  @ApiProperty({ type: SyncErrorDto, nullable: true })
  error!: SyncErrorDto | null;

  @ApiProperty({ type: String, nullable: true, format: 'uuid', description: 'GET /jobs/{id} for its log' })
  jobId!: string | null;

  @ApiProperty({ example: '2026-12-06T10:00:00.000Z' })
  createdAt!: Date;

  @ApiProperty({ type: Date, nullable: true })
  startedAt!: Date | null;

  @ApiProperty({ type: Date, nullable: true })
  finishedAt!: Date | null;
}

export class SyncDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  accountId!: string;

  @ApiProperty({
    enum: ['running', 'succeeded', 'partially_failed', 'failed', 'cancelled'],
    example: 'running',
    description: 'Derived from the runs',
  })
  status!: SyncStatus;

  @ApiProperty({ example: '2026-12-06T10:00:00.000Z' })
  requestedAt!: Date;

  @ApiProperty({ type: Date, nullable: true })
  finishedAt!: Date | null;

  @ApiProperty({ type: [SyncRunDto], description: 'One per connection and content type' })
  runs!: SyncRunDto[];
}

export class RecordQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'photos' })
  @IsOptional()
  @Matches(TYPE_PATTERN, { message: 'type must be a content type name' })
  type?: string;

  @ApiPropertyOptional({
    example: 'added,updated',
    description: 'Only records whose last change was one of these',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.split(',') : value))
  @IsIn(RECORD_ACTIONS, { each: true })
  changes?: RecordAction[];

  @ApiPropertyOptional({ example: '2026-12-01T00:00:00Z', description: 'Only records changed after this' })
  @IsOptional()
  @IsoTime()
  modifiedAfter?: Date;
}

export class RecordTypeQueryDto {
  @ApiPropertyOptional({ example: 'photos' })
  @IsOptional()
  @Matches(TYPE_PATTERN, { message: 'type must be a content type name' })
  type?: string;
}

export class StoredCopyDto {
  @ApiProperty({ format: 'uuid', description: 'The storage connection' })
  connectionId!: string;

  @ApiProperty({
    example: '019abc12-3def-7456-89ab-cdef01234567/photos/p-1001',
    description: 'The path in it',
  })
  path!: string;
}

export class RecordDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({ example: 'photos' })
  type!: string;

  @ApiProperty({ example: 'p-1001', description: 'The partner’s id of the item' })
  externalId!: string;

  @ApiProperty({ example: { id: 'p-1001', title: 'Harbour at dawn' }, description: 'The item as read' })
  data!: unknown;

  @ApiProperty({ type: String, nullable: true, example: 'Harbour at dawn' })
  title!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'harbour.jpg' })
  filename!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'https://partner.example/thumbs/p-1001.jpg' })
  thumbnailUrl!: string | null;

  @ApiProperty({ type: Number, nullable: true, example: 204800 })
  size!: number | null;

  @ApiProperty({ example: '2026-12-06T10:00:00.000Z' })
  firstSeenAt!: Date;

  @ApiProperty({ example: '2026-12-06T10:00:00.000Z' })
  lastModifiedAt!: Date;

  @ApiProperty({ enum: RECORD_ACTIONS, example: 'added' })
  lastAction!: RecordAction;

  @ApiProperty({ type: Date, nullable: true })
  deletedAt!: Date | null;

  @ApiProperty({
    type: StoredCopyDto,
    nullable: true,
    description: 'The copy of its content in the storage connection its connection’s settings name',
  })
  storedCopy!: StoredCopyDto | null;
}

export class RecordPageDto extends PageDto(RecordDto) {}

/** What status views show of a record. */
export class SnapshotDto extends PickType(RecordDto, [
  'externalId',
  'title',
  'filename',
  'thumbnailUrl',
  'size',
  'lastModifiedAt',
] as const) {}

export class SyncStatusEntryDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  connectionId!: string;

  @ApiProperty({ example: 'photos at Acme' })
  connectionName!: string;

  @ApiProperty({ example: 'http' })
  provider!: string;

  @ApiProperty({ example: 'active', description: 'The connection’s state' })
  state!: string;

  @ApiProperty({ type: Date, nullable: true, description: 'Since when the connection’s syncs are paused' })
  syncsPausedAt!: Date | null;

  @ApiProperty({ example: 'photos' })
  type!: string;

  @ApiProperty({
    example: true,
    description: 'Whether the connection’s settings have its syncs read this type',
  })
  enabled!: boolean;

  @ApiProperty({ type: SyncRunDto, nullable: true })
  lastRun!: SyncRunDto | null;

  @ApiProperty({ type: Date, nullable: true, description: 'When a run last succeeded' })
  lastSyncedAt!: Date | null;

  @ApiProperty({
    type: Date,
    nullable: true,
    description: 'When its sync schedule (settings.syncEvery) fires next; null while none runs it',
  })
  nextSyncAt!: Date | null;

  @ApiProperty({ example: 1200, description: 'Records available (not deleted)' })
  records!: number;

  @ApiProperty({ type: [SnapshotDto], description: 'The latest changed records' })
  snapshots!: SnapshotDto[];
}

export class SyncStatusDto {
  @ApiProperty({ type: [SyncStatusEntryDto], description: 'One per connection and content type' })
  items!: SyncStatusEntryDto[];
}

export class SyncRunListDto {
  @ApiProperty({ type: [SyncRunDto], description: 'Newest first, at most 200' })
  items!: SyncRunDto[];
}

export class SyncRunQueryDto {
  @ApiPropertyOptional({ enum: RUN_STATUSES, example: 'running' })
  @IsOptional()
  @IsIn(RUN_STATUSES)
  status?: RunStatus;
}

const NOT_FOUND = (what: string) => ({ status: 404, description: what, type: ErrorBodyDto });

/** The refusals of a change to a connection's content types (restart, clear). */
const ConnectionTypesErrors = () =>
  applyDecorators(
    ApiResponse(NOT_FOUND('No such connection, or another account’s (CONNECTION_NOT_FOUND)')),
    ApiResponse({
      status: 409,
      description: 'A run of a type is queued or running (SYNC_RUNNING)',
      type: ErrorBodyDto,
    }),
    ApiResponse({
      status: 422,
      description: 'A type the connection does not have (INVALID_SYNC)',
      type: ErrorBodyDto,
    }),
  );

/** Syncs of an account's connections, their runs, and the records they store. */
@ApiTags('syncs')
@ApiStandardErrors()
@Controller()
@Roles('viewer')
export class SyncsController {
  constructor(private readonly syncs: SyncsService) {}

  @Post('accounts/:id/syncs')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Sync the account’s active connections (or the named ones): one run per connection and content type, answered at once',
  })
  @ApiAcceptedResponse({
    type: SyncDto,
    description: 'A pair already queued or running answers with that run',
  })
  @ApiResponse({
    status: 403,
    description: 'Another account, for a viewer (NOT_YOUR_ACCOUNT)',
    type: ErrorBodyDto,
  })
  @ApiResponse(NOT_FOUND('No such account (ACCOUNT_NOT_FOUND)'))
  @ApiResponse({
    status: 422,
    description: 'A named connection is not the account’s, not active or has nothing to sync (INVALID_SYNC)',
    type: ErrorBodyDto,
  })
  async start(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) accountId: string,
    @Body() body: StartSyncDto,
  ): Promise<SyncDto> {
    return toSyncDto(await this.syncs.start(caller, accountId, body));
  }

  @Get('accounts/stats')
  @Roles('admin')
  @ApiOperation({
    summary: 'For admins: accounts, the latest signup, connections per provider, records held',
  })
  @ApiOkResponse({ type: AccountStatsDto })
  stats(): Promise<AccountStatsDto> {
    return this.syncs.stats();
  }

  @Get('accounts/:id/sync-status')
  @ApiOperation({
    summary:
      'Per connection and content type: its state, last run with counters and error, last success, records and snapshots',
  })
  @ApiOkResponse({ type: SyncStatusDto })
  @ApiResponse(NOT_FOUND('No such account, or another’s (ACCOUNT_NOT_FOUND)'))
  async status(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) accountId: string,
  ): Promise<SyncStatusDto> {
    const entries = await this.syncs.status(caller, accountId);
    return {
      items: entries.map((entry) => ({
        ...entry,
        lastRun: entry.lastRun ? toRunDto(entry.lastRun) : null,
        snapshots: entry.snapshots.map(
          ({ externalId, title, filename, thumbnailUrl, size, lastModifiedAt }) => ({
            externalId,
            title,
            filename,
            thumbnailUrl,
            size,
            lastModifiedAt,
          }),
        ),
      })),
    };
  }

  @Get('accounts/:id/sync-runs')
  @ApiOperation({ summary: 'The account’s runs, newest first, as their jobs say they are' })
  @ApiOkResponse({ type: SyncRunListDto })
  @ApiResponse(NOT_FOUND('No such account, or another’s (ACCOUNT_NOT_FOUND)'))
  async runsOfAccount(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) accountId: string,
    @Query() query: SyncRunQueryDto,
  ): Promise<SyncRunListDto> {
    return { items: (await this.syncs.runsOfAccount(caller, accountId, query.status)).map(toRunDto) };
  }

  @Get('syncs/:id')
  @ApiOperation({ summary: 'A sync and its runs, with live counters' })
  @ApiOkResponse({ type: SyncDto })
  @ApiResponse(NOT_FOUND('No such sync, or another account’s (SYNC_NOT_FOUND)'))
  async get(@CurrentPrincipal() caller: Principal, @Param('id', ParseUUIDPipe) id: string): Promise<SyncDto> {
    return toSyncDto(await this.syncs.get(caller, id));
  }

  @Get('sync-runs/:id')
  @ApiOperation({ summary: 'One run: its status (read through its job), counters and checkpoints' })
  @ApiOkResponse({ type: SyncRunDto })
  @ApiResponse(NOT_FOUND('No such run, or another account’s (SYNC_RUN_NOT_FOUND)'))
  async run(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<SyncRunDto> {
    return toRunDto(await this.syncs.run(caller, id));
  }

  @Post('sync-runs/:id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a queued or running run: its job stops; later runs are not affected' })
  @ApiOkResponse({ type: SyncRunDto })
  @ApiResponse(NOT_FOUND('No such run, or another account’s (SYNC_RUN_NOT_FOUND)'))
  @ApiResponse({ status: 409, description: 'The run has ended (SYNC_RUN_FINISHED)', type: ErrorBodyDto })
  async cancel(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<SyncRunDto> {
    return toRunDto(await this.syncs.cancel(caller, id));
  }

  @Post('connections/:id/syncs/restart')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'A full resync: the types’ checkpoints are dropped and each runs from nothing, keeping the records',
  })
  @ApiAcceptedResponse({ type: SyncDto })
  @ConnectionTypesErrors()
  async restart(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) connectionId: string,
    @Body() body: SyncTypesDto,
  ): Promise<SyncDto> {
    return toSyncDto(await this.syncs.restart(caller, connectionId, body.types));
  }

  @Post('connections/:id/syncs/pause')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Pause the connection’s syncs: its sync schedule stops and its runs not started wait, paused; a running run ends as it would',
  })
  @ApiOkResponse({ type: SyncPauseDto })
  @ApiResponse(NOT_FOUND('No such connection, or another account’s (CONNECTION_NOT_FOUND)'))
  pause(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) connectionId: string,
  ): Promise<SyncPauseDto> {
    return this.syncs.pause(caller, connectionId);
  }

  @Post('connections/:id/syncs/resume')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Resume the connection’s syncs: its schedule fires again and its paused runs are queued',
  })
  @ApiOkResponse({ type: SyncPauseDto })
  @ApiResponse(NOT_FOUND('No such connection, or another account’s (CONNECTION_NOT_FOUND)'))
  resume(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) connectionId: string,
  ): Promise<SyncPauseDto> {
    return this.syncs.resume(caller, connectionId);
  }

  @Post('connections/:id/syncs/clear')
  @HttpCode(200)
  @ApiOperation({ summary: 'Delete the connection’s synced records and checkpoints of these types' })
  @ApiOkResponse({ type: ClearedDto })
  @ConnectionTypesErrors()
  clear(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) connectionId: string,
    @Body() body: SyncTypesDto,
  ): Promise<ClearedDto> {
    return this.syncs.clear(caller, connectionId, body.types);
  }

  @Post('connections/:id/syncs/checkpoint')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Put back the checkpoint a past run started from: the next run of its type reads from there',
  })
  @ApiOkResponse({ type: CheckpointDto })
  @ConnectionTypesErrors()
  restoreCheckpoint(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) connectionId: string,
    @Body() body: RestoreCheckpointDto,
  ): Promise<CheckpointDto> {
    return this.syncs.restoreCheckpoint(caller, connectionId, body.type, body.runId);
  }

  @Get('connections/:id/records')
  @ApiOperation({
    summary: 'The connection’s synced records, oldest change first; the cursor stays valid across syncs',
  })
  @ApiOkResponse({ type: RecordPageDto })
  @ApiResponse(NOT_FOUND('No such connection, or another account’s (CONNECTION_NOT_FOUND)'))
  async records(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) connectionId: string,
    @Query() query: RecordQueryDto,
  ): Promise<RecordPageDto> {
    const { type, changes, modifiedAfter, limit, cursor } = query;
    return mapPage(
      await this.syncs.recordsOf(caller, { connectionId, type, changes, modifiedAfter }, limit, cursor),
      toRecordDto,
    );
  }

  @Get('connections/:id/records/:externalId')
  @ApiOperation({ summary: 'One synced record by the partner’s id' })
  @ApiOkResponse({ type: RecordDto })
  @ApiResponse(NOT_FOUND('No such connection or record (CONNECTION_NOT_FOUND, RECORD_NOT_FOUND)'))
  async record(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) connectionId: string,
    @Param('externalId') externalId: string,
    @Query() query: RecordTypeQueryDto,
  ): Promise<RecordDto> {
    return toRecordDto(await this.syncs.record(caller, connectionId, externalId, query.type));
  }

  @Get('connections/:id/records/:externalId/content')
  @Header('Content-Type', 'application/octet-stream')
  @ApiOperation({ summary: 'The copy of a record’s content, from the storage connection that keeps it' })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' } })
  @ApiResponse(
    NOT_FOUND(
      'No such connection or record, or no copy of its content (CONNECTION_NOT_FOUND, RECORD_NOT_FOUND, COPY_NOT_FOUND)',
    ),
  )
  content(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) connectionId: string,
    @Param('externalId') externalId: string,
    @Query() query: RecordTypeQueryDto,
  ): Promise<Buffer> {
    return this.syncs.recordContent(caller, connectionId, externalId, query.type);
  }
}

function toSyncDto({ sync, status, finishedAt, runs }: SyncView): SyncDto {
  const { id, accountId, requestedAt } = sync;
  return { id, accountId, requestedAt, status, finishedAt, runs: runs.map(toRunDto) };
}

function toRunDto(run: SyncRun): SyncRunDto {
  const { errorCode, errorMessage, ...rest } = run;
  return { ...rest, error: errorCode ? { code: errorCode, message: errorMessage ?? '' } : null };
}

function toRecordDto(record: StoredRecord): RecordDto {
  const { id, type, externalId, data, title, filename, thumbnailUrl, size } = record;
  const { firstSeenAt, lastModifiedAt, lastAction, deletedAt } = record;
  return {
    id,
    type,
    externalId,
    data,
    title,
    filename,
    thumbnailUrl,
    size,
    firstSeenAt,
    lastModifiedAt,
    lastAction,
    deletedAt,
    storedCopy:
      record.storedConnectionId && record.storedPath
        ? { connectionId: record.storedConnectionId, path: record.storedPath }
        : null,
  };
}
