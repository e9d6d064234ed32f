import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, isUUID, Max, MaxLength, Min } from 'class-validator';
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { CommonError } from '../errors/domain-error.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** `?limit=&cursor=` for every list endpoint. */
export class PageQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, example: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit: number = DEFAULT_PAGE_SIZE;

  @ApiPropertyOptional({
    description: 'The nextCursor of the previous page',
    example: 'eyJhZnRlciI6IjAxOT...',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A Swagger schema for a page of `item`, e.g. `class AccountPageDto extends PageDto(AccountDto) {}`. */
export function PageDto<T>(item: new (...args: never[]) => T) {
  class PageOf implements Page<T> {
    @ApiProperty({ type: item, isArray: true })
    items!: T[];

    @ApiProperty({
      type: String,
      nullable: true,
      description: 'Pass as ?cursor= for the next page; null on the last page',
    })
    nextCursor!: string | null;
  }
  return PageOf;
}

/**
 * Runs a query one page at a time, ordered by the time-ordered id column: the cursor names the
 * last id seen, so pages stay stable while rows are added.
 */
export async function paginate<E extends ObjectLiteral & { id: string }>(
  query: SelectQueryBuilder<E>,
  page: PageQueryDto,
): Promise<Page<E>> {
  const alias = query.alias;
  if (page.cursor !== undefined) query.andWhere(`${alias}.id > :after`, { after: afterIdOf(page.cursor) });
  const rows = await query
    .orderBy(`${alias}.id`, 'ASC')
    .take(page.limit + 1)
    .getMany();
  const items = rows.slice(0, page.limit);
  const nextCursor = rows.length > page.limit ? encodeCursor({ after: items[items.length - 1].id }) : null;
  return { items, nextCursor };
}

export function mapPage<T, U>(page: Page<T>, map: (item: T) => U): Page<U> {
  return { items: page.items.map(map), nextCursor: page.nextCursor };
}

/** A cursor carrying `fields`, opaque to clients. */
export function encodeCursor(fields: Record<string, string>): string {
  return Buffer.from(JSON.stringify(fields)).toString('base64url');
}

/** The fields of a cursor this API returned, each a non-empty string; INVALID_CURSOR otherwise. */
export function decodeCursor<K extends string>(cursor: string, keys: readonly K[]): Record<K, string> {
  try {
    const fields = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (keys.every((key) => typeof fields[key] === 'string' && fields[key] !== ''))
      return fields as Record<K, string>;
  } catch {
    // reported below
  }
  throw invalidCursor();
}

/**
 * The id a keyset cursor (`{ after }`) names. It must be an id: a crafted cursor with any other
 * text is INVALID_CURSOR, where PostgreSQL would refuse to compare it with a uuid column (a 500).
 */
export function afterIdOf(cursor: string): string {
  const { after } = decodeCursor(cursor, ['after']);
  if (!isUUID(after)) throw invalidCursor();
  return after;
}

export function invalidCursor(): CommonError {
  return new CommonError('INVALID_CURSOR', 'cursor is not one this API returned; start again without it');
}
