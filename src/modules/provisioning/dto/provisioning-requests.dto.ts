import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

/** A DNS name: labels of letters, digits and dashes, at least two of them. */
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const KEY = /^[a-z0-9]+(-[a-z0-9]+)*$/;

export class FlavorProviderDto {
  @ApiProperty({ example: 'fastly' })
  @IsString()
  @Matches(KEY)
  @MaxLength(100)
  provider!: string;

  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  connectionId!: string;
}

export class FlavorBodyDto {
  @ApiProperty({
    type: [FlavorProviderDto],
    description: 'The CDN providers a service of this flavor is deployed on, each through one connection',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10)
  @ValidateNested({ each: true })
  @Type(() => FlavorProviderDto)
  providers!: FlavorProviderDto[];

  @ApiProperty({ type: FlavorProviderDto, description: 'The DNS driver that points the domains at the CDN' })
  @ValidateNested()
  @Type(() => FlavorProviderDto)
  dns!: FlavorProviderDto;

  @ApiPropertyOptional({ example: { domains: 10 }, description: 'Free-form limits shown with the flavor' })
  @IsOptional()
  @IsObject()
  limits?: Record<string, unknown>;
}

export class CreateFlavorDto extends FlavorBodyDto {
  @ApiProperty({ example: 'cdn-eu', description: 'Lowercase words joined by dashes; unique' })
  @IsString()
  @Matches(KEY)
  @MaxLength(100)
  id!: string;
}

export class DomainDto {
  @ApiProperty({ example: 'www.shop.example' })
  @IsString()
  @Matches(HOSTNAME, { message: 'domain must be a DNS name in lowercase, such as www.shop.example' })
  domain!: string;

  @ApiPropertyOptional({ enum: ['http', 'https'], default: 'http' })
  @IsOptional()
  @IsIn(['http', 'https'])
  protocol: 'http' | 'https' = 'http';

  @ApiPropertyOptional({ enum: ['shared', 'san', 'custom'], default: 'shared' })
  @IsOptional()
  @IsIn(['shared', 'san', 'custom'])
  certificate: 'shared' | 'san' | 'custom' = 'shared';
}

export class UrlRuleDto {
  @ApiProperty({ example: 'images' })
  @IsString()
  @MaxLength(100)
  name!: string;

  @ApiProperty({ example: '/images/*' })
  @IsString()
  @MaxLength(500)
  requestUrl!: string;
}

export class OriginDto {
  @ApiProperty({ example: 'origin.shop.example' })
  @IsString()
  @Matches(/^[A-Za-z0-9.:-]{1,253}$/, { message: 'origin must be a host name or an IP address' })
  origin!: string;

  @ApiPropertyOptional({ example: 443, default: 80 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65535)
  port: number = 80;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  ssl: boolean = false;

  @ApiPropertyOptional({ type: [UrlRuleDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => UrlRuleDto)
  rules: UrlRuleDto[] = [];
}

export class CachingDto {
  @ApiProperty({ example: 'default' })
  @IsString()
  @MaxLength(100)
  name!: string;

  @ApiProperty({ example: 3600, description: 'Seconds' })
  @IsInt()
  @Min(0)
  @Max(31_536_000)
  ttl!: number;

  @ApiPropertyOptional({ type: [UrlRuleDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => UrlRuleDto)
  rules: UrlRuleDto[] = [];
}

export class RestrictionRuleDto {
  @ApiProperty({ example: 'partners' })
  @IsString()
  @MaxLength(100)
  name!: string;

  @ApiPropertyOptional({ example: 'partner.example' })
  @IsOptional()
  @IsString()
  @MaxLength(253)
  referrer?: string;

  @ApiPropertyOptional({ example: '192.0.2.0/24' })
  @IsOptional()
  @IsString()
  @MaxLength(50)
  clientIp?: string;

  @ApiPropertyOptional({ example: 'DE' })
  @IsOptional()
  @IsString()
  @MaxLength(50)
  geography?: string;
}

export class RestrictionDto {
  @ApiProperty({ example: 'partners only' })
  @IsString()
  @MaxLength(100)
  name!: string;

  @ApiProperty({ enum: ['allow', 'deny'] })
  @IsIn(['allow', 'deny'])
  type!: 'allow' | 'deny';

  @ApiProperty({ type: [RestrictionRuleDto] })
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => RestrictionRuleDto)
  rules!: RestrictionRuleDto[];
}

export class LogDeliveryDto {
  @ApiProperty({ example: false })
  @IsBoolean()
  enabled: boolean = false;
}

/** What a POST sets, and what a patched service must still be. */
export class ServiceBodyDto {
  @ApiProperty({ type: [DomainDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => DomainDto)
  domains!: DomainDto[];

  @ApiProperty({ type: [OriginDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => OriginDto)
  origins!: OriginDto[];

  @ApiProperty({ example: 'cdn-eu' })
  @IsString()
  @MaxLength(100)
  flavorId!: string;

  @ApiPropertyOptional({ type: [CachingDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => CachingDto)
  caching: CachingDto[] = [];

  @ApiPropertyOptional({ type: [RestrictionDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => RestrictionDto)
  restrictions: RestrictionDto[] = [];

  @ApiPropertyOptional({ type: LogDeliveryDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => LogDeliveryDto)
  logDelivery: LogDeliveryDto = new LogDeliveryDto();
}

export class CreateServiceDto extends ServiceBodyDto {
  @ApiProperty({ example: 'shop-assets', maxLength: 200 })
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,199}$/, { message: 'name must be letters, digits, spaces, _ . -' })
  name!: string;
}

/** One JSON Patch (RFC 6902) operation. */
export class PatchOperationDto {
  @ApiProperty({ enum: ['add', 'remove', 'replace', 'move', 'copy', 'test'] })
  @IsIn(['add', 'remove', 'replace', 'move', 'copy', 'test'])
  op!: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';

  @ApiProperty({ example: '/domains/1' })
  @IsString()
  @MaxLength(500)
  path!: string;

  @ApiPropertyOptional({ example: '/domains/0' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  from?: string;

  @ApiPropertyOptional({ example: { domain: 'img.shop.example' } })
  @IsOptional()
  value?: unknown;
}

export class PurgeDto {
  @ApiPropertyOptional({
    example: '/images/logo.png',
    description: 'One URL (a path, or a full URL of one of its domains); none purges everything',
  })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  url?: string;
}

export class ServiceLimitDto {
  @ApiProperty({ example: 20, minimum: 0, maximum: 10000 })
  @IsInt()
  @Min(0)
  @Max(10_000)
  maxServices!: number;
}

export class ServiceActionDto {
  @ApiProperty({ enum: ['enable', 'disable'] })
  @IsIn(['enable', 'disable'])
  action!: 'enable' | 'disable';

  @ApiPropertyOptional({ format: 'uuid', description: 'Every service of this project' })
  @IsOptional()
  @IsUUID()
  projectId?: string;

  @ApiPropertyOptional({ type: [String], description: 'These services' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsUUID('all', { each: true })
  serviceIds?: string[];
}
