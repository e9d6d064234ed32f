/**
 * What other modules may use of the events module besides its exported services: the job type
 * of the retention job, which the schedules module fires from its built-in schedule.
 */
export const RETENTION_JOB_TYPE = 'junction.retention';

/** Whether a string is an event name (`order.created`), for modules that let people choose one. */
export { isEventName } from './event-name.js';
export type { EventInput } from './event-input.js';
export type { EventView } from './event-view.js';
