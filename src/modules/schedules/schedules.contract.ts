/**
 * What other modules may use of the schedules module besides its service: the cron check, for
 * settings that carry a cron which becomes a schedule (a poller's, a connection's syncs').
 */
export { cronProblems, everyMs } from './schedule-slots.js';
