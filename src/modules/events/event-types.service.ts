import { Injectable } from '@nestjs/common';
import type { ValidateFunction } from 'ajv';
import { Clock } from '../../common/clock.js';
import { newAjv, toViolation } from '../../common/json-schema.js';
import type { SchemaViolation } from '../../common/json-schema.js';
import { ExpiringCache } from '../../common/expiring-cache.js';
import { AppConfig } from '../../config/app-config.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { assertEventName } from './event-name.js';
import { EventType } from './event-type.entity.js';
import { EventTypeStore } from './event-type.store.js';
import type { SeenName } from './event-type.store.js';
import { EventError } from './event.error.js';

/** One way an event's data breaks its type's schema (`path` is a JSON Pointer into `data`). */
export type { SchemaViolation } from '../../common/json-schema.js';

/** An event name as GET /event-types shows it: declared, seen, or both. */
export interface EventTypeSummary {
  name: string;
  description: string | null;
  schema: Record<string, unknown> | null;
  /** Stored events of this name (purged ones no longer count). */
  count: number;
  lastSeenAt: Date | null;
}

const MAX_VIOLATIONS = 50;

/**
 * Event types: a JSON Schema per event name, checked at intake. Compiled validators are kept for
 * `events.cacheMs`; a change made in this process applies at once.
 */
@Injectable()
export class EventTypesService {
  private readonly validators: ExpiringCache<Map<string, ValidateFunction>>;

  constructor(
    private readonly store: EventTypeStore,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    this.validators = new ExpiringCache(() => this.load(), config.events.cacheMs);
  }

  async put(name: string, schema: Record<string, unknown>, description: string): Promise<EventType> {
    assertEventName(name);
    try {
      newAjv().compile(schema);
    } catch (error) {
      throw new EventError('INVALID_SCHEMA', `the schema of ${name} is not a valid JSON Schema`, [
        { field: 'schema', problems: [(error as Error).message] },
      ]);
    }
    const saved = await this.serializer.transaction(async (manager) => {
      const now = this.clock.now();
      const existing = await this.store.findByName(name, manager);
      const type = existing ?? Object.assign(new EventType(), { name, createdAt: now });
      Object.assign(type, { schema, description, updatedAt: now });
      return this.store.save(manager, type);
    });
    this.validators.invalidate();
    return saved;
  }

  async remove(name: string): Promise<void> {
    const deleted = await this.serializer.transaction((manager) => this.store.delete(manager, name));
    if (!deleted) throw notFound(name);
    this.validators.invalidate();
  }

  /** One name, declared or seen. */
  async get(name: string): Promise<EventTypeSummary> {
    const declared = await this.store.findByName(name);
    const seen = await this.store.seen(name);
    if (!declared && !seen) throw notFound(name);
    return summaryOf(name, declared, seen);
  }

  /** Every declared type and every name seen in stored events, by name. */
  async list(): Promise<EventTypeSummary[]> {
    const declared = new Map((await this.store.findAll()).map((type) => [type.name, type]));
    const seen = new Map((await this.store.seenAll()).map((row) => [row.name, row]));
    return [...new Set([...declared.keys(), ...seen.keys()])]
      .sort()
      .map((name) => summaryOf(name, declared.get(name) ?? null, seen.get(name)));
  }

  /** The violations of `data` against the schema of `name`; empty when it has none or passes. */
  async check(name: string, data: unknown): Promise<SchemaViolation[]> {
    const validate = (await this.validators.get()).get(name);
    if (!validate || validate(data)) return [];
    return (validate.errors ?? []).slice(0, MAX_VIOLATIONS).map(toViolation);
  }

  private async load(): Promise<Map<string, ValidateFunction>> {
    const ajv = newAjv();
    const types = await this.store.findAll();
    return new Map(types.map((type) => [type.name, ajv.compile(type.schema)]));
  }
}

function summaryOf(
  name: string,
  declared: EventType | null,
  seen: SeenName | null | undefined,
): EventTypeSummary {
  return {
    name,
    description: declared?.description ?? null,
    schema: declared?.schema ?? null,
    count: seen?.count ?? 0,
    lastSeenAt: seen?.lastSeenAt ?? null,
  };
}

function notFound(name: string): EventError {
  return new EventError('EVENT_TYPE_NOT_FOUND', `no event type or stored event named ${name}`);
}
