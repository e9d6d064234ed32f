import { Injectable, Logger } from '@nestjs/common';

/** Told a connection's id after a change to it committed: created, changed, paused, resumed, refused or deleted. */
export type ConnectionChangeListener = (connectionId: string) => void;

/**
 * Changes to connections made in this process, announced after they commit, for what must follow
 * a connection at once (its AMQP consumer). Other processes find the change by polling.
 */
@Injectable()
export class ConnectionChanges {
  private readonly logger = new Logger('Connections');
  private readonly listeners = new Set<ConnectionChangeListener>();

  listen(listener: ConnectionChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(connectionId: string): void {
    for (const listener of this.listeners) {
      try {
        listener(connectionId);
      } catch (error) {
        this.logger.error(`a listener failed on connection ${connectionId}: ${(error as Error).message}`);
      }
    }
  }
}
