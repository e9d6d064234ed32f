import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import { CurrentPrincipal } from '../../common/auth/principal.js';
import type { Principal } from '../../common/auth/principal.js';
import { Roles } from '../../common/auth/roles.js';
import { mapPage, PageQueryDto } from '../../common/pagination/pagination.js';
import { AccountsService } from './accounts.service.js';
import { AccountDto, AccountPageDto, toAccountDto } from './dto/account.dto.js';
import { CreateAccountDto, UpdateAccountDto } from './dto/account-requests.dto.js';

@ApiTags('accounts')
@ApiStandardErrors()
@Controller('accounts')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Get('me')
  @ApiOperation({ summary: 'The account of the calling API key' })
  @ApiOkResponse({ type: AccountDto })
  async me(@CurrentPrincipal() principal: Principal): Promise<AccountDto> {
    return toAccountDto(await this.accounts.get(principal.accountId));
  }

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Create an account (admin)' })
  @ApiCreatedResponse({ type: AccountDto })
  @ApiResponse({ status: 409, description: 'The email is taken', type: ErrorBodyDto })
  async create(@Body() body: CreateAccountDto): Promise<AccountDto> {
    return toAccountDto(await this.accounts.create(body));
  }

  @Get()
  @Roles('admin')
  @ApiOperation({ summary: 'List accounts (admin)' })
  @ApiOkResponse({ type: AccountPageDto })
  async list(@Query() page: PageQueryDto): Promise<AccountPageDto> {
    return mapPage(await this.accounts.list(page), toAccountDto);
  }

  @Get(':id')
  @Roles('admin')
  @ApiOperation({ summary: 'One account (admin)' })
  @ApiOkResponse({ type: AccountDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<AccountDto> {
    return toAccountDto(await this.accounts.get(id));
  }

  @Patch(':id')
  @Roles('admin')
  @ApiOperation({
    summary: 'Change name, email, role or disabled (admin); the last enabled admin stays admin',
  })
  @ApiOkResponse({ type: AccountDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiResponse({ status: 409, description: 'The email is taken', type: ErrorBodyDto })
  @ApiResponse({ status: 422, description: 'It would leave no enabled admin', type: ErrorBodyDto })
  async update(@Param('id', ParseUUIDPipe) id: string, @Body() body: UpdateAccountDto): Promise<AccountDto> {
    return toAccountDto(await this.accounts.update(id, body));
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an account and its API keys (admin)' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiResponse({ status: 422, description: 'It is the last enabled admin', type: ErrorBodyDto })
  async remove(@Param('id', ParseUUIDPipe) id: string): Promise<void> {
    await this.accounts.remove(id);
  }
}
