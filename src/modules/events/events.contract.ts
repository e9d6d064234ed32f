/**
 * What other modules may use of the events module besides its exported services: the job type
 * of the retention job, which the schedules module fires from its built-in schedule.
 */
export const RETENTION_JOB_TYPE = 'junction.retention';

/**
 * Event-name globs (`order.*`, `order.**`), for modules that subscribe to events by pattern: the
 * same syntax as routes.
 */
export { compileEventPattern } from './event-name.js';
export type { PublishedEvent } from './event-view.js';
export type { EventSubscriber } from './event-subscribers.service.js';

/** Whether a string is an event name (`order.created`), for modules that let people choose one. */
export { EVENT_NAME_MAX_LENGTH, isEventName } from './event-name.js';
export type { EventInput } from './event-input.js';
export type { EventView } from './event-view.js';
