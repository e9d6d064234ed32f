import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { isUniqueViolation } from '../../database/db-errors.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { CatalogueStore } from './catalogue.store.js';
import { GoodsType } from './goods-type.entity.js';
import { Location } from './location.entity.js';
import { ReservationError } from './reservation.error.js';

/** What goods and requests name by code: goods types and locations. */
@Injectable()
export class CatalogueService {
  constructor(
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    private readonly store: CatalogueStore,
  ) {}

  async createGoodsType(input: { code: string; label?: string; properties?: Record<string, unknown> }) {
    const type = Object.assign(new GoodsType(), {
      id: newId(),
      code: input.code,
      label: input.label ?? input.code,
      properties: input.properties ?? {},
      createdAt: this.clock.now(),
    });
    try {
      return await this.serializer.transaction((manager) => this.store.saveGoodsType(manager, type));
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new ReservationError('GOODS_TYPE_CODE_TAKEN', `a goods type with code ${input.code} exists`);
    }
  }

  listGoodsTypes(page: PageQueryDto): Promise<Page<GoodsType>> {
    return this.store.pageOfGoodsTypes(page);
  }

  async getGoodsType(id: string): Promise<GoodsType> {
    const type = await this.store.goodsType(id);
    if (!type) throw new ReservationError('GOODS_TYPE_NOT_FOUND', `no goods type ${id}`);
    return type;
  }

  /** The goods type a request or goods names by code; an unknown code is refused (422). */
  async goodsTypeByCode(code: string, manager?: EntityManager): Promise<GoodsType> {
    const type = await this.store.goodsTypeByCode(code, manager);
    if (!type) throw new ReservationError('UNKNOWN_GOODS_TYPE', `no goods type has code ${code}`, { code });
    return type;
  }

  async createLocation(input: { code: string; label?: string; parent?: string | null }): Promise<Location> {
    try {
      return await this.serializer.transaction(async (manager) => {
        const parent = input.parent ? await this.locationByCode(input.parent, manager) : null;
        return this.store.saveLocation(
          manager,
          Object.assign(new Location(), {
            id: newId(),
            code: input.code,
            label: input.label ?? input.code,
            parentId: parent?.id ?? null,
            createdAt: this.clock.now(),
          }),
        );
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new ReservationError('LOCATION_CODE_TAKEN', `a location with code ${input.code} exists`);
    }
  }

  listLocations(page: PageQueryDto): Promise<Page<Location>> {
    return this.store.pageOfLocations(page);
  }

  async getLocation(id: string): Promise<Location> {
    const location = await this.store.location(id);
    if (!location) throw new ReservationError('LOCATION_NOT_FOUND', `no location ${id}`);
    return location;
  }

  /** The location goods or an operation names by code; an unknown code is refused (422). */
  async locationByCode(code: string, manager?: EntityManager): Promise<Location> {
    const location = await this.store.locationByCode(code, manager);
    if (!location) throw new ReservationError('UNKNOWN_LOCATION', `no location has code ${code}`, { code });
    return location;
  }

  /** The location with this code, created (labelled with its code) if there is none yet. */
  async ensureLocation(manager: EntityManager, code: string): Promise<Location> {
    const existing = await this.store.locationByCode(code, manager);
    if (existing) return existing;
    await this.store.insertLocationIfMissing(manager, code, this.clock.now());
    return this.locationByCode(code, manager);
  }
}
