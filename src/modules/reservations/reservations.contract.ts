/**
 * What other modules (the planner) may use of the reservations module besides its services: the
 * request as a planner sees it, purposes, avatars as read-only views, and the goods line that
 * arrivals and unpacks take. Other modules never import the reservation entities, stores or DTOs.
 */
import type { AvatarState } from './avatar.entity.js';
import type { Purpose } from './reservation-request.entity.js';

export type { AvatarState } from './avatar.entity.js';
export type { Purpose } from './reservation-request.entity.js';
export { GoodsLineDto } from './dto/goods-requests.dto.js';

/** Checks a purpose when a request is created; the problems it returns refuse the request. */
export type PurposeCheck = (purpose: Purpose) => string[];

/** Goods to create: a type code, and what every object of the line gets. */
export interface GoodsInput {
  /** A goods type code. */
  goodsType: string;
  code?: string | null;
  properties?: Record<string, unknown>;
}

/** One object promised to a request, and the item of the request it covers. */
export interface ReservedGoods {
  goodsId: string;
  requestItemId: string;
}

/** A request a planner has claimed: enough to pick the planner of its purpose. */
export interface ClaimedRequest {
  id: string;
  purposeType: string;
}

/** A claimed request as its planner plans it: what it is for, and the goods promised to it. */
export interface RequestForPlanning extends ClaimedRequest {
  purpose: Purpose;
  lane: string;
  goods: ReservedGoods[];
}

/** Goods at a location over a span of time (see the avatar entity), as operations read it. */
export interface AvatarView {
  readonly id: string;
  readonly goodsId: string;
  readonly locationId: string;
  readonly state: AvatarState;
  readonly dtFrom: Date;
  readonly dtUntil: Date | null;
  /** The operation whose outcome it is; null for goods entered as already present. */
  readonly outcomeOf: string | null;
}

/** An avatar to create: it has no end yet. */
export type NewAvatar = Omit<AvatarView, 'id' | 'dtUntil'>;
