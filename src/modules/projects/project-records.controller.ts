import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Put, Query } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsDefined, IsIn, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { CurrentPrincipal } from '../../common/auth/principal.js';
import type { Principal } from '../../common/auth/principal.js';
import { Roles } from '../../common/auth/roles.js';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import { PageQueryDto } from '../../common/pagination/pagination.js';
import { ProjectRecordsService } from './project-records.service.js';
import type { RecordView } from './project-records.service.js';
import { RECORD_KINDS } from './project-records.store.js';
import type { ProviderDatum, RecordKind } from './project-records.store.js';
import { ProjectError } from './project.error.js';
import { ProjectsService } from './projects.service.js';

const BUILD_STATUSES = ['queued', 'running', 'success', 'unstable', 'failure', 'not_built', 'aborted'];

class SyncQueryDto {
  @ApiPropertyOptional({ example: 'github', description: 'Only this provider; default every one that syncs' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  provider?: string;
}

class SyncJobDto {
  @ApiProperty({ example: 'github' })
  provider!: string;

  @ApiProperty({ format: 'uuid', description: 'The projects.sync job; GET /jobs/{id} follows it' })
  jobId!: string;
}

class SyncStartedDto {
  @ApiProperty({ type: [SyncJobDto] })
  jobs!: SyncJobDto[];
}

class FieldsQueryDto {
  @ApiPropertyOptional({
    example: 'id,name,headSha',
    description: 'Only these fields of each record, comma-separated; an unknown one is 400 INVALID_FIELDS',
  })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  fields?: string;
}

class RecordListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'id,name', description: 'Only these fields, comma-separated' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  fields?: string;
}

export class RepositoryQueryDto extends RecordListQueryDto {
  @ApiPropertyOptional({ example: 'github' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  provider?: string;

  @ApiPropertyOptional({ example: true })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  active?: boolean;
}

export class BranchQueryDto extends RecordListQueryDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  repositoryId?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  featureId?: string;

  @ApiPropertyOptional({ example: 'feature/SHOP-12' })
  @IsOptional()
  @IsString()
  @MaxLength(250)
  name?: string;
}

export class FeatureQueryDto extends RecordListQueryDto {
  @ApiPropertyOptional({ example: 'targetprocess' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  provider?: string;

  @ApiPropertyOptional({ enum: ['story', 'bug', 'feature'] })
  @IsOptional()
  @IsIn(['story', 'bug', 'feature'])
  type?: string;

  @ApiPropertyOptional({ example: 'In Progress' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  state?: string;

  @ApiPropertyOptional({ example: 'SHOP-12' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  externalId?: string;
}

export class BuildQueryDto extends RecordListQueryDto {
  @ApiPropertyOptional({ example: 'jenkins' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  provider?: string;

  @ApiPropertyOptional({ example: 'shop-ci' })
  @IsOptional()
  @IsString()
  @MaxLength(250)
  job?: string;

  @ApiPropertyOptional({ enum: BUILD_STATUSES })
  @IsOptional()
  @IsIn(BUILD_STATUSES)
  status?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  branchId?: string;
}

export class ProviderDatumBodyDto {
  @ApiProperty({ enum: ['string', 'traffic_light'], description: 'How it is shown' })
  @IsIn(['string', 'traffic_light'])
  display!: 'string' | 'traffic_light';

  @ApiProperty({ example: 'green', description: 'Any JSON; a traffic light is red, amber or green' })
  @IsDefined()
  value!: unknown;
}

export class ProviderDatumDto extends ProviderDatumBodyDto {
  @ApiProperty({ example: 'sonar' })
  provider!: string;

  @ApiProperty({ example: 'quality-gate' })
  key!: string;

  @ApiProperty()
  updatedAt!: Date;
}

export class RecordPageDto {
  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true } })
  items!: RecordView[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}

const NOT_FOUND = {
  status: 404,
  description: 'No such project or record, or not a member (PROJECT_NOT_FOUND, RECORD_NOT_FOUND)',
  type: ErrorBodyDto,
};
const BAD_FIELDS = {
  status: 400,
  description: 'A field the records do not have (INVALID_FIELDS)',
  type: ErrorBodyDto,
};

/**
 * The records a project's tools keep current, as members (and the project's tokens) read them:
 * lists with filters and cursor pages, one record, and `?fields=` to choose what each shows.
 */
@ApiTags('projects')
@ApiStandardErrors()
@Controller('projects/:id')
@Roles('viewer')
export class ProjectRecordsController {
  constructor(
    private readonly records: ProjectRecordsService,
    private readonly projects: ProjectsService,
  ) {}

  @Post('repositories/sync')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Bring the project’s repositories and branches up to date from its tools now, as a job per provider',
  })
  @ApiResponse({ status: 202, type: SyncStartedDto })
  @ApiResponse(NOT_FOUND)
  @ApiResponse({
    status: 409,
    description: 'No provider of the project syncs (NOTHING_TO_SYNC)',
    type: ErrorBodyDto,
  })
  async sync(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: SyncQueryDto,
  ): Promise<SyncStartedDto> {
    return { jobs: await this.projects.requestSync(caller, id, query.provider) };
  }

  @Get('repositories')
  @ApiOperation({ summary: 'The project’s repositories' })
  @ApiOkResponse({ type: RecordPageDto })
  @ApiResponse(NOT_FOUND)
  @ApiResponse(BAD_FIELDS)
  repositories(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: RepositoryQueryDto,
  ): Promise<RecordPageDto> {
    return this.list(caller, id, 'repositories', query);
  }

  @Get('branches')
  @ApiOperation({ summary: 'The project’s branches' })
  @ApiOkResponse({ type: RecordPageDto })
  @ApiResponse(NOT_FOUND)
  @ApiResponse(BAD_FIELDS)
  branches(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: BranchQueryDto,
  ): Promise<RecordPageDto> {
    return this.list(caller, id, 'branches', query);
  }

  @Get('features')
  @ApiOperation({ summary: 'The project’s features (stories, bugs, features)' })
  @ApiOkResponse({ type: RecordPageDto })
  @ApiResponse(NOT_FOUND)
  @ApiResponse(BAD_FIELDS)
  features(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: FeatureQueryDto,
  ): Promise<RecordPageDto> {
    return this.list(caller, id, 'features', query);
  }

  @Get('builds')
  @ApiOperation({ summary: 'The project’s builds' })
  @ApiOkResponse({ type: RecordPageDto })
  @ApiResponse(NOT_FOUND)
  @ApiResponse(BAD_FIELDS)
  builds(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: BuildQueryDto,
  ): Promise<RecordPageDto> {
    return this.list(caller, id, 'builds', query);
  }

  @Get(':kind/:rid')
  @ApiOperation({
    summary:
      'One repository, branch, feature or build; a feature comes with its branches per repository, each with its latest build',
  })
  @ApiOkResponse({ schema: { type: 'object', additionalProperties: true } })
  @ApiResponse(NOT_FOUND)
  @ApiResponse(BAD_FIELDS)
  one(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('kind') kind: string,
    @Param('rid', ParseUUIDPipe) recordId: string,
    @Query() query: FieldsQueryDto,
  ): Promise<RecordView> {
    return this.records.get(caller, id, kindOf(kind), recordId, query.fields);
  }

  @Put(':kind/:rid/provider-data/:provider/:key')
  @ApiOperation({
    summary: 'Put a provider’s entry on a record, shown with it (a member, or the project’s token)',
  })
  @ApiOkResponse({ type: ProviderDatumDto })
  @ApiResponse(NOT_FOUND)
  async putProviderData(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('kind') kind: string,
    @Param('rid', ParseUUIDPipe) recordId: string,
    @Param('provider') provider: string,
    @Param('key') key: string,
    @Body() body: ProviderDatumBodyDto,
  ): Promise<ProviderDatumDto> {
    const datum: Omit<ProviderDatum, 'updatedAt'> = {
      provider,
      key,
      display: body.display,
      value: body.value,
    };
    return this.records.putProviderData(caller, id, kindOf(kind), recordId, checkedDatum(datum));
  }

  private list(
    caller: Principal,
    id: string,
    kind: RecordKind,
    query: RecordListQueryDto,
  ): Promise<RecordPageDto> {
    const { limit, cursor, fields, ...filters } = query as RecordListQueryDto & Record<string, unknown>;
    const set = Object.fromEntries(
      Object.entries(filters).filter(([, value]) => value !== undefined),
    ) as Record<string, string | boolean>;
    return this.records.list(caller, id, kind, { filters: set, fields, limit, cursor });
  }
}

function kindOf(kind: string): RecordKind {
  if (!(RECORD_KINDS as readonly string[]).includes(kind))
    throw new ProjectError('RECORD_NOT_FOUND', `projects hold no ${kind}: ${RECORD_KINDS.join(', ')}`);
  return kind as RecordKind;
}

const KEY = /^[a-z0-9]+([._-][a-z0-9]+)*$/;

function checkedDatum(datum: Omit<ProviderDatum, 'updatedAt'>): Omit<ProviderDatum, 'updatedAt'> {
  if (
    !KEY.test(datum.provider) ||
    !KEY.test(datum.key) ||
    datum.provider.length > 100 ||
    datum.key.length > 100
  )
    throw new ProjectError('INVALID_FIELDS', 'provider and key must be lowercase words joined by . _ or -');
  if (datum.display === 'traffic_light' && !['red', 'amber', 'green'].includes(datum.value as string))
    throw new ProjectError('INVALID_FIELDS', 'a traffic light is red, amber or green');
  return datum;
}
