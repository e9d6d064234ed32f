import { ApiProperty } from '@nestjs/swagger';
import type { EventTypeSummary } from '../event-types.service.js';

export class EventTypeDto {
  @ApiProperty({ example: 'order.created' })
  name!: string;

  @ApiProperty({ type: String, nullable: true, description: 'null for a name only seen, never declared' })
  description!: string | null;

  @ApiProperty({ type: Object, nullable: true, description: 'The JSON Schema; null when not declared' })
  schema!: Record<string, unknown> | null;

  @ApiProperty({ example: 1204, description: 'Stored events of this name' })
  count!: number;

  @ApiProperty({ type: Date, nullable: true, example: '2026-11-25T09:30:00.120Z' })
  lastSeenAt!: Date | null;
}

export function toEventTypeDto(summary: EventTypeSummary): EventTypeDto {
  return { ...summary };
}
