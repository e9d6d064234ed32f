import type { DetailStatus, ProviderDetail } from './provisioning.store.js';

export type ServiceStatus = DetailStatus;

/**
 * A service's status, derived from its providers' and never stored apart: any failed makes it
 * failed; else any deletion, update or creation in progress, in that order; else deployed.
 */
export function serviceStatus(details: Pick<ProviderDetail, 'status'>[]): ServiceStatus {
  const has = (status: DetailStatus) => details.some((detail) => detail.status === status);
  if (has('failed')) return 'failed';
  if (has('delete_in_progress')) return 'delete_in_progress';
  if (has('update_in_progress')) return 'update_in_progress';
  if (has('create_in_progress')) return 'create_in_progress';
  return 'deployed';
}
