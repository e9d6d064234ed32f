import { TypeOrmModule } from '@nestjs/typeorm';
import type { EntityManager } from 'typeorm';
import { startServiceModule } from '../../../test/support/service-module.js';
import type { ServiceModule } from '../../../test/support/service-module.js';
import { PageQueryDto } from '../../common/pagination/pagination.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { EventIntakeService } from './event-intake.service.js';
import { EventSubscribers } from './event-subscribers.service.js';
import { EventTypesService } from './event-types.service.js';
import { EventType } from './event-type.entity.js';
import { EventTypeStore } from './event-type.store.js';
import { Event } from './event.entity.js';
import { EventStore } from './event.store.js';
import type { NewEventRow } from './event.store.js';
import { EventsService } from './events.service.js';
import { Route } from './route.entity.js';
import { RouteStore } from './route.store.js';
import { RoutesService } from './routes.service.js';

/** The real event store, except that writing `group.poison` fails; it notes how many events each insert carried. */
class PoisonEventStore extends EventStore {
  readonly insertSizes: number[] = [];

  override async insert(manager: EntityManager, events: NewEventRow[]): Promise<void> {
    this.insertSizes.push(events.length);
    if (events.some(({ event }) => event.name === 'group.poison')) throw new Error('simulated failure');
    await super.insert(manager, events);
  }
}

describe('EventIntakeService', () => {
  let s: ServiceModule;
  let intake: EventIntakeService;
  let events: EventsService;
  let store: PoisonEventStore;

  beforeAll(async () => {
    s = await startServiceModule(
      (config) => ({
        imports: [JobsModule.forRoot(config), TypeOrmModule.forFeature([Event, EventType, Route])],
        providers: [
          { provide: EventStore, useClass: PoisonEventStore },
          EventTypeStore,
          RouteStore,
          EventIntakeService,
          EventSubscribers,
          EventsService,
          EventTypesService,
          RoutesService,
        ],
      }),
      { JUNCTION_ROLES: 'api' },
    );
    intake = s.module.get(EventIntakeService);
    events = s.module.get(EventsService);
    store = s.module.get(EventStore);
  });
  afterAll(() => s.close());

  const stored = async (name: string): Promise<Event[]> =>
    (await events.list({ name }, Object.assign(new PageQueryDto(), { limit: 200 }))).items;

  it('keeps a failure of one event written in a group to that event alone', async () => {
    const outcomes = await Promise.allSettled(
      ['group.good', 'group.poison', 'group.good'].map((name) => intake.ingest({ name, source: 'g' }, null)),
    );

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    // The three were offered as one group first, then one by one.
    expect(store.insertSizes).toEqual([3, 1, 1, 1]);
    expect(await stored('group.good')).toHaveLength(2);
    expect(await stored('group.poison')).toHaveLength(0);
  });
});
