import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';

/** The stream's state, as the header shows it. */
export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'closed';

const LABELS: Record<LiveState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Live updates interrupted: reconnecting…',
  closed: 'Live updates stopped: reload the page',
};

/**
 * Follows `GET /stream` (server-sent events; the session cookie goes along) and refreshes what a
 * change makes stale, so counters and states move without reloading. The browser reconnects a
 * dropped stream by itself; meanwhile the header says so, and the pages' own polling goes on.
 * After a reconnect everything is read again, since changes made while away are not replayed.
 */
export function useLiveUpdates(): LiveState {
  const client = useQueryClient();
  const [state, setState] = useState<LiveState>('connecting');
  useEffect(() => {
    const source = new EventSource('/stream');
    let dropped = false;
    source.addEventListener('ready', () => {
      setState('live');
      if (dropped) void client.invalidateQueries();
      dropped = false;
    });
    source.addEventListener('jobs', (message: MessageEvent<string>) => {
      const job = JSON.parse(message.data) as { id: string };
      void client.invalidateQueries({ queryKey: ['job', job.id] });
      void client.invalidateQueries({ queryKey: ['jobs'] });
      void client.invalidateQueries({ queryKey: ['queues'] });
    });
    // Sent to admins only: a delivery after an attempt moves its page, its endpoint's list and state.
    source.addEventListener('deliveries', (message: MessageEvent<string>) => {
      const delivery = JSON.parse(message.data) as { id: string; endpointId: string };
      void client.invalidateQueries({ queryKey: ['webhooks', 'delivery', delivery.id] });
      void client.invalidateQueries({ queryKey: ['webhooks', 'deliveries', delivery.endpointId] });
      void client.invalidateQueries({ queryKey: ['webhooks', 'endpoint', delivery.endpointId] });
      void client.invalidateQueries({ queryKey: ['webhooks', 'endpoints'] });
    });
    // A sync run's counters and status: the Syncs pages' queries.
    source.addEventListener('sync-runs', () => {
      for (const queryKey of [['sync-status'], ['sync-runs'], ['sync-run']])
        void client.invalidateQueries({ queryKey });
    });
    source.onerror = () => {
      dropped = true;
      setState(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
    };
    return () => source.close();
  }, [client]);
  return state;
}

export function LiveIndicator({ state }: { state: LiveState }) {
  return (
    <span className={`live live-${state}`} role="status" data-testid="live-state">
      {LABELS[state]}
    </span>
  );
}
