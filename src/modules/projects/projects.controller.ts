import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { IsBoolean, IsEmail, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsNotBlank } from '../../common/validation/not-blank.decorator.js';
import { CurrentPrincipal } from '../../common/auth/principal.js';
import type { Principal } from '../../common/auth/principal.js';
import { Roles } from '../../common/auth/roles.js';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import { PageDto, PageQueryDto } from '../../common/pagination/pagination.js';
import { ProjectsService } from './projects.service.js';
import type { Invitation, Member, ProjectToken, ProviderSettings } from './project.store.js';

export class CreateProjectDto {
  @ApiProperty({ example: 'Shop redesign', maxLength: 200 })
  @IsString()
  @IsNotBlank()
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional({
    example: 'shop-redesign',
    description: 'Unique across projects: lowercase words joined by dashes; made from the name when absent',
  })
  @IsOptional()
  @Matches(/^[a-z0-9]+(-[a-z0-9]+)*$/, { message: 'slug must be lowercase words joined by dashes' })
  @MaxLength(100)
  slug?: string;
}

export class AddMemberDto {
  @ApiProperty({ example: 'dev@example.com' })
  @IsEmail()
  @MaxLength(320)
  email!: string;

  @ApiPropertyOptional({ example: false, description: 'Whether the member manages the project' })
  @IsOptional()
  @IsBoolean()
  manager?: boolean;
}

export class CreateTokenDto {
  @ApiProperty({ example: 'CI server', maxLength: 200 })
  @IsString()
  @IsNotBlank()
  @MaxLength(200)
  label!: string;
}

export class ProjectDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'Shop redesign' })
  name!: string;

  @ApiProperty({ example: 'shop-redesign' })
  slug!: string;

  @ApiProperty()
  createdAt!: Date;

  @ApiProperty()
  updatedAt!: Date;
}

export class ProjectPageDto extends PageDto(ProjectDto) {}

export class MemberDto {
  @ApiProperty({ format: 'uuid' })
  accountId!: string;

  @ApiProperty({ example: true })
  manager!: boolean;

  @ApiProperty()
  joinedAt!: Date;
}

export class MemberListDto {
  @ApiProperty({ type: [MemberDto] })
  items!: MemberDto[];
}

export class InvitationDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'new.dev@example.com' })
  email!: string;

  @ApiProperty({ example: false })
  manager!: boolean;

  @ApiProperty({ description: 'Until then the invitation can be accepted, once' })
  expiresAt!: Date;
}

/** What adding a member answers: the member (201), or the invitation sent instead (202). */
export class MemberAddedDto {
  @ApiPropertyOptional({ type: MemberDto })
  member?: MemberDto;

  @ApiPropertyOptional({
    type: InvitationDto,
    description: 'No account has the email: the event project.invitation carries the token that accepts it',
  })
  invitation?: InvitationDto;
}

const GITHUB_SETTINGS_EXAMPLE = {
  connectionId: '019abc12-3def-7456-89ab-cdef01234567',
  repositories: ['acme/shop'],
  branches: [{ pattern: '^feature/(?<feature>[A-Z]+-[0-9]+)', parent: 'develop' }],
};

export class ProviderSettingsDto {
  @ApiProperty({ example: 'github' })
  provider!: string;

  @ApiProperty({ type: 'object', additionalProperties: true, example: GITHUB_SETTINGS_EXAMPLE })
  settings!: Record<string, unknown>;

  @ApiProperty()
  updatedAt!: Date;
}

export class ProviderSettingsListDto {
  @ApiProperty({ type: [ProviderSettingsDto] })
  items!: ProviderSettingsDto[];
}

export class ProjectTokenDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'CI server' })
  label!: string;

  @ApiProperty({ example: 'jpt_Ab3dE5fG', description: 'The key’s first characters, to tell keys apart' })
  prefix!: string;

  @ApiProperty({ format: 'uuid', description: 'The member it acts as' })
  accountId!: string;

  @ApiProperty({ type: Date, nullable: true })
  revokedAt!: Date | null;

  @ApiProperty({ type: Date, nullable: true })
  lastUsedAt!: Date | null;

  @ApiProperty()
  createdAt!: Date;
}

export class CreatedProjectTokenDto extends ProjectTokenDto {
  @ApiProperty({
    example: 'jpt_Ab3dE5fG...',
    description: 'The token, shown this once; send it as a Bearer key',
  })
  key!: string;
}

export class ProjectTokenListDto {
  @ApiProperty({ type: [ProjectTokenDto] })
  items!: ProjectTokenDto[];
}

const NOT_FOUND = {
  status: 404,
  description: 'No such project, or not a member of it (PROJECT_NOT_FOUND)',
  type: ErrorBodyDto,
};
const NOT_A_MANAGER = {
  status: 403,
  description: 'Only a manager of the project may (NOT_A_MANAGER)',
  type: ErrorBodyDto,
};

/**
 * Projects, their members and invitations, and project tokens. Every account may make projects;
 * one sees only those it is a member of (an admin all).
 */
@ApiTags('projects')
@ApiStandardErrors()
@Controller()
@Roles('viewer')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Post('projects')
  @ApiOperation({ summary: 'Create a project; the caller is its first manager' })
  @ApiCreatedResponse({ type: ProjectDto })
  @ApiResponse({ status: 409, description: 'A project has that slug (SLUG_TAKEN)', type: ErrorBodyDto })
  create(@CurrentPrincipal() caller: Principal, @Body() body: CreateProjectDto): Promise<ProjectDto> {
    return this.projects.create(caller, body);
  }

  @Get('projects')
  @ApiOperation({ summary: 'The projects the caller is a member of (an admin: all), oldest first' })
  @ApiOkResponse({ type: ProjectPageDto })
  list(@CurrentPrincipal() caller: Principal, @Query() page: PageQueryDto): Promise<ProjectPageDto> {
    return this.projects.list(caller, page.limit, page.cursor);
  }

  @Get('projects/:id')
  @ApiOperation({ summary: 'One project' })
  @ApiOkResponse({ type: ProjectDto })
  @ApiResponse(NOT_FOUND)
  get(@CurrentPrincipal() caller: Principal, @Param('id', ParseUUIDPipe) id: string): Promise<ProjectDto> {
    return this.projects.get(caller, id);
  }

  @Delete('projects/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a project with its members, invitations and tokens (a manager)' })
  @ApiNoContentResponse()
  @ApiResponse(NOT_FOUND)
  @ApiResponse(NOT_A_MANAGER)
  async remove(@CurrentPrincipal() caller: Principal, @Param('id', ParseUUIDPipe) id: string): Promise<void> {
    await this.projects.remove(caller, id);
  }

  @Get('projects/:id/members')
  @ApiOperation({ summary: 'The project’s members' })
  @ApiOkResponse({ type: MemberListDto })
  @ApiResponse(NOT_FOUND)
  async members(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<MemberListDto> {
    return { items: (await this.projects.members(caller, id)).map(toMemberDto) };
  }

  @Post('projects/:id/members')
  @ApiOperation({
    summary:
      'Add the account of that email (201), or change whether it manages; without such an account, invite the email (202)',
  })
  @ApiCreatedResponse({ type: MemberAddedDto })
  @ApiAcceptedResponse({ type: MemberAddedDto })
  @ApiResponse(NOT_FOUND)
  @ApiResponse(NOT_A_MANAGER)
  async addMember(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: AddMemberDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MemberAddedDto> {
    const added = await this.projects.addMember(caller, id, body);
    if ('member' in added) return { member: toMemberDto(added.member) };
    void reply.status(202);
    return { invitation: toInvitationDto(added.invitation) };
  }

  @Delete('projects/:id/members/:accountId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a member (a manager); the last manager stays' })
  @ApiNoContentResponse()
  @ApiResponse(NOT_FOUND)
  @ApiResponse(NOT_A_MANAGER)
  @ApiResponse({ status: 409, description: 'The project’s last manager (LAST_MANAGER)', type: ErrorBodyDto })
  async removeMember(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('accountId', ParseUUIDPipe) accountId: string,
  ): Promise<void> {
    await this.projects.removeMember(caller, id, accountId);
  }

  @Post('invitations/:token/accept')
  @HttpCode(200)
  @ApiOperation({ summary: 'Accept an invitation made to the caller’s email: the account joins the project' })
  @ApiOkResponse({ type: MemberDto })
  @ApiResponse({
    status: 404,
    description: 'No invitation has this token (INVITATION_NOT_FOUND)',
    type: ErrorBodyDto,
  })
  @ApiResponse({
    status: 403,
    description: 'The invitation is for another email (INVITATION_NOT_YOURS)',
    type: ErrorBodyDto,
  })
  @ApiResponse({
    status: 409,
    description: 'Accepted already or expired (INVITATION_USED, INVITATION_EXPIRED)',
    type: ErrorBodyDto,
  })
  async accept(@CurrentPrincipal() caller: Principal, @Param('token') token: string): Promise<MemberDto> {
    return toMemberDto(await this.projects.accept(caller, token));
  }

  @Get('projects/:id/providers')
  @ApiOperation({ summary: 'What the project tells each provider' })
  @ApiOkResponse({ type: ProviderSettingsListDto })
  @ApiResponse(NOT_FOUND)
  async providerSettings(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<ProviderSettingsListDto> {
    return { items: (await this.projects.providerSettings(caller, id)).map(toSettingsDto) };
  }

  @Get('projects/:id/providers/:provider')
  @ApiOperation({ summary: 'What the project tells one provider' })
  @ApiOkResponse({ type: ProviderSettingsDto })
  @ApiResponse(NOT_FOUND)
  async oneProviderSettings(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('provider') provider: string,
  ): Promise<ProviderSettingsDto> {
    const [found] = await this.projects.providerSettings(caller, id, provider);
    return toSettingsDto(found);
  }

  @Put('projects/:id/providers/:provider')
  @ApiOperation({
    summary:
      'Set what the project tells a provider (a manager): the body is checked against the provider’s projectSettingsSchema',
  })
  @ApiBody({ schema: { type: 'object', example: GITHUB_SETTINGS_EXAMPLE } })
  @ApiOkResponse({ type: ProviderSettingsDto })
  @ApiResponse(NOT_FOUND)
  @ApiResponse(NOT_A_MANAGER)
  @ApiResponse({
    status: 422,
    description: 'Settings the provider refuses, one problem per path (INVALID_PROVIDER_SETTINGS)',
    type: ErrorBodyDto,
  })
  async putProviderSettings(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('provider') provider: string,
    @Body() settings: Record<string, unknown>,
  ): Promise<ProviderSettingsDto> {
    return toSettingsDto(await this.projects.putProviderSettings(caller, id, provider, settings ?? {}));
  }

  @Delete('projects/:id/providers/:provider')
  @HttpCode(204)
  @ApiOperation({ summary: 'Forget what the project told a provider (a manager)' })
  @ApiNoContentResponse()
  @ApiResponse(NOT_FOUND)
  @ApiResponse(NOT_A_MANAGER)
  async removeProviderSettings(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('provider') provider: string,
  ): Promise<void> {
    await this.projects.removeProviderSettings(caller, id, provider);
  }

  @Post('projects/:id/tokens')
  @ApiOperation({
    summary: 'Make a project token acting as the caller inside the project; its key is shown once',
  })
  @ApiCreatedResponse({ type: CreatedProjectTokenDto })
  @ApiResponse(NOT_FOUND)
  @ApiResponse(NOT_A_MANAGER)
  async createToken(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: CreateTokenDto,
  ): Promise<CreatedProjectTokenDto> {
    const { token, key } = await this.projects.createToken(caller, id, body.label);
    return { ...toTokenDto(token), key };
  }

  @Get('projects/:id/tokens')
  @ApiOperation({ summary: 'The project’s tokens, without their keys' })
  @ApiOkResponse({ type: ProjectTokenListDto })
  @ApiResponse(NOT_FOUND)
  async tokens(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<ProjectTokenListDto> {
    return { items: (await this.projects.tokens(caller, id)).map(toTokenDto) };
  }

  @Delete('projects/:id/tokens/:tokenId')
  @ApiOperation({ summary: 'Revoke a project token at once (a manager)' })
  @ApiOkResponse({ type: ProjectTokenDto })
  @ApiResponse(NOT_FOUND)
  @ApiResponse(NOT_A_MANAGER)
  async revokeToken(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('tokenId', ParseUUIDPipe) tokenId: string,
  ): Promise<ProjectTokenDto> {
    return toTokenDto(await this.projects.revokeToken(caller, id, tokenId));
  }
}

function toSettingsDto({ provider, settings, updatedAt }: ProviderSettings): ProviderSettingsDto {
  return { provider, settings, updatedAt };
}

function toMemberDto({ accountId, manager, joinedAt }: Member): MemberDto {
  return { accountId, manager, joinedAt };
}

function toInvitationDto({ id, email, manager, expiresAt }: Invitation): InvitationDto {
  return { id, email, manager, expiresAt };
}

function toTokenDto(token: ProjectToken): ProjectTokenDto {
  const { id, label, prefix, accountId, revokedAt, lastUsedAt, createdAt } = token;
  return { id, label, prefix, accountId, revokedAt, lastUsedAt, createdAt };
}
