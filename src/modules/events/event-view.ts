import type { Event } from './event.entity.js';

/** An event as route filters and templates see it: `{{data.total}}`, `{"source": "shop"}`. */
export interface EventView {
  id: string;
  name: string;
  source: string;
  data: unknown;
  idempotencyKey: string | null;
  occurredAt: string;
  receivedAt: string;
  causationDepth: number;
  [field: string]: unknown;
}

/** The fields a template path may start with. */
export const EVENT_VIEW_FIELDS = [
  'id',
  'name',
  'source',
  'data',
  'idempotencyKey',
  'occurredAt',
  'receivedAt',
  'causationDepth',
] as const;

export function eventView(event: Event): EventView {
  return {
    id: event.id,
    name: event.name,
    source: event.source,
    data: event.data,
    idempotencyKey: event.idempotencyKey,
    occurredAt: event.occurredAt.toISOString(),
    receivedAt: event.receivedAt.toISOString(),
    causationDepth: event.causationDepth,
  };
}

/**
 * An event as the API shows it (`GET /events/{id}`), times as ISO strings: what subscribers of
 * stored events receive, and what an outbound webhook carries.
 */
export interface PublishedEvent extends EventView {
  postedBy: string | null;
  causedByJob: string | null;
}

export function publishedEvent(event: Event): PublishedEvent {
  return { ...eventView(event), postedBy: event.postedBy, causedByJob: event.causedByJob };
}
