import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { newId } from '../../common/ids.js';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { rawSql } from '../../database/raw-sql.js';
import { GoodsType } from './goods-type.entity.js';
import { Location } from './location.entity.js';

/** The goods_type and location tables. */
@Injectable()
export class CatalogueStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  saveGoodsType(manager: EntityManager, type: GoodsType): Promise<GoodsType> {
    return manager.save(type);
  }

  pageOfGoodsTypes(page: PageQueryDto): Promise<Page<GoodsType>> {
    return paginate(this.dataSource.manager.createQueryBuilder(GoodsType, 'goods_type'), page);
  }

  goodsType(id: string): Promise<GoodsType | null> {
    return this.dataSource.manager.findOneBy(GoodsType, { id });
  }

  goodsTypeByCode(code: string, manager: EntityManager = this.dataSource.manager): Promise<GoodsType | null> {
    return manager.findOneBy(GoodsType, { code });
  }

  saveLocation(manager: EntityManager, location: Location): Promise<Location> {
    return manager.save(location);
  }

  pageOfLocations(page: PageQueryDto): Promise<Page<Location>> {
    return paginate(this.dataSource.manager.createQueryBuilder(Location, 'location'), page);
  }

  location(id: string): Promise<Location | null> {
    return this.dataSource.manager.findOneBy(Location, { id });
  }

  locationByCode(code: string, manager: EntityManager = this.dataSource.manager): Promise<Location | null> {
    return manager.findOneBy(Location, { code });
  }

  /** A top-level location labelled with its code, unless one with the code exists (or is being created). */
  async insertLocationIfMissing(manager: EntityManager, code: string, now: Date): Promise<void> {
    await rawSql(
      manager,
      `INSERT INTO location (id, code, label, parent_id, created_at) VALUES (?, ?, ?, NULL, ?)
       ON CONFLICT DO NOTHING`,
      [newId(), code, code, now],
    );
  }
}
