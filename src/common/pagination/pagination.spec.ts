import { jest } from '@jest/globals';
import type { SelectQueryBuilder } from 'typeorm';
import { CommonError } from '../errors/domain-error.js';
import { PageDto, PageQueryDto, paginate } from './pagination.js';

interface Row {
  id: string;
}

class ItemDto {
  id!: string;
}

/** A stand-in for TypeORM's query builder with just what paginate uses. */
function fakeQuery(rows: Row[]) {
  const builder = {
    alias: 'a',
    andWhere: jest.fn((_where: string, _params: Record<string, unknown>) => builder),
    orderBy: jest.fn((_sort: string, _order: string) => builder),
    take: jest.fn((_n: number) => builder),
    getMany: jest.fn(() => Promise.resolve(rows)),
  };
  return { builder, query: builder as unknown as SelectQueryBuilder<Row> };
}

function pageQuery(limit: number, cursor?: string): PageQueryDto {
  const page = new PageQueryDto();
  page.limit = limit;
  if (cursor !== undefined) page.cursor = cursor;
  return page;
}

// Ids as the tables hold them (time-ordered UUIDs): a cursor naming anything else is refused.
const [A, B, C] = [
  '019a0000-0000-7000-8000-00000000000a',
  '019a0000-0000-7000-8000-00000000000b',
  '019a0000-0000-7000-8000-00000000000c',
];
const threeRows = (): Row[] => [{ id: A }, { id: B }, { id: C }];

describe('PageDto', () => {
  it('builds a new class when given an item class', () => {
    const PageOfItems = PageDto(ItemDto);

    expect(typeof PageOfItems).toBe('function');
    expect(new PageOfItems()).toBeInstanceOf(PageOfItems);
    expect(PageDto(ItemDto)).not.toBe(PageOfItems);
  });
});

describe('paginate', () => {
  it('throws INVALID_CURSOR when the cursor is garbage', async () => {
    const { query } = fakeQuery(threeRows());

    const result = paginate(query, pageQuery(2, 'garbage'));

    await expect(result).rejects.toBeInstanceOf(CommonError);
    await expect(result).rejects.toMatchObject({ code: 'INVALID_CURSOR', kind: 'invalid' });
  });

  it('returns the first page and a next cursor when there are more rows than the limit', async () => {
    const { builder, query } = fakeQuery(threeRows());

    const page = await paginate(query, pageQuery(2));

    expect(page.items.map((row) => row.id)).toEqual([A, B]);
    expect(typeof page.nextCursor).toBe('string');
    expect(builder.andWhere).not.toHaveBeenCalled();
    expect(builder.orderBy).toHaveBeenCalledWith('a.id', 'ASC');
    expect(builder.take).toHaveBeenCalledWith(3);
  });

  it('filters after the last id when given the next cursor back', async () => {
    const first = await paginate(fakeQuery(threeRows()).query, pageQuery(2));
    const { builder, query } = fakeQuery([{ id: C }]);

    const second = await paginate(query, pageQuery(2, first.nextCursor as string));

    expect(builder.andWhere).toHaveBeenCalledWith('a.id > :after', { after: B });
    expect(second.items.map((row) => row.id)).toEqual([C]);
    expect(second.nextCursor).toBeNull();
  });
});
