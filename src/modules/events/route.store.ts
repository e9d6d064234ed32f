import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { Route } from './route.entity.js';

/** The route table. */
@Injectable()
export class RouteStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async nameTaken(manager: EntityManager, name: string): Promise<boolean> {
    return manager.existsBy(Route, { name });
  }

  async findById(id: string, manager: EntityManager = this.dataSource.manager): Promise<Route | null> {
    return manager.findOneBy(Route, { id });
  }

  async save(manager: EntityManager, route: Route): Promise<void> {
    await manager.save(Route, route);
  }

  /** Deletes the route; false when there was none. */
  async delete(manager: EntityManager, id: string): Promise<boolean> {
    const { affected } = await manager.delete(Route, { id });
    return Boolean(affected);
  }

  /** The routes whose names start with `prefix` (a module's own routes). */
  async findByNamePrefix(manager: EntityManager, prefix: string): Promise<Route[]> {
    return manager
      .createQueryBuilder(Route, 'route')
      .where('substr(route.name, 1, :length) = :prefix', { length: prefix.length, prefix })
      .getMany();
  }

  /** Every stored route, by name. */
  async listByName(): Promise<Route[]> {
    return this.dataSource.manager.find(Route, { order: { name: 'ASC' } });
  }

  /** The enabled routes, in the order they are matched. */
  async listEnabled(): Promise<Route[]> {
    return this.dataSource.manager.find(Route, { where: { enabled: true }, order: { id: 'ASC' } });
  }
}
