import { serviceStatus } from './service-status.js';
import type { DetailStatus } from './provisioning.store.js';

const of = (...statuses: DetailStatus[]) => serviceStatus(statuses.map((status) => ({ status })));

describe('serviceStatus', () => {
  it('is failed when any provider failed, whatever the others are doing', () => {
    expect(of('deployed', 'failed', 'delete_in_progress')).toBe('failed');
  });

  it('puts deletion before update before creation', () => {
    expect(of('create_in_progress', 'update_in_progress', 'delete_in_progress')).toBe('delete_in_progress');
    expect(of('create_in_progress', 'update_in_progress', 'deployed')).toBe('update_in_progress');
    expect(of('create_in_progress', 'deployed')).toBe('create_in_progress');
  });

  it('is deployed when every provider is', () => {
    expect(of('deployed', 'deployed')).toBe('deployed');
  });
});
