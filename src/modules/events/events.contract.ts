/**
 * What other modules may use of the events module besides its exported services: the job type
 * of the retention job, which the schedules module fires from its built-in schedule.
 */
export const RETENTION_JOB_TYPE = 'junction.retention';
