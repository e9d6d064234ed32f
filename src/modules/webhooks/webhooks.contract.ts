/** What other modules may use of the webhooks module: the names it puts in the job ledger and the event log. */
export const WEBHOOK_DELIVER_JOB_TYPE = 'webhooks.deliver';
/** Seals endpoints' secrets again with the current key during a key rotation. */
export const WEBHOOK_RESEAL_JOB_TYPE = 'webhooks.reseal';
/** Emitted when Junction disables an endpoint (410 Gone, or failing for too long). */
export const WEBHOOK_ENDPOINT_DISABLED_EVENT = 'webhook.endpoint.disabled';
/** The change feed's topic of deliveries: each change is a delivery after an attempt. */
export const DELIVERIES_TOPIC = 'deliveries';
