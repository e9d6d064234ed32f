import type { DataSource } from 'typeorm';
import { demandKey, propertiesMatch } from '../../src/modules/reservations/properties-match.js';

/** A small seeded generator (mulberry32), so a randomized test is the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface GoodsRow {
  id: string;
  typeId: string;
  properties: Record<string, unknown>;
  inStock: boolean;
}

interface ItemRow {
  id: string;
  requestId: string;
  typeId: string;
  quantity: number;
  properties: Record<string, unknown>;
  reservedQuantity: number;
}

interface RequestRow {
  id: string;
  lane: string;
  status: string;
}

/** Everything the reserver decides, read back from the database. */
export interface ReservationState {
  goods: GoodsRow[];
  requests: RequestRow[];
  items: ItemRow[];
  /** goods id -> request item id */
  reservations: Map<string, string>;
  reservedFlags: Set<string>;
}

export async function readState(dataSource: DataSource): Promise<ReservationState> {
  const goods = await dataSource.query<
    { id: string; type_id: string; properties: string; in_stock: unknown; reserved: unknown }[]
  >(`SELECT id, type_id, properties, in_stock, reserved FROM goods ORDER BY id`);
  const requests = await dataSource.query<RequestRow[]>(
    `SELECT id, lane, status FROM reservation_request ORDER BY id`,
  );
  const items = await dataSource.query<
    {
      id: string;
      request_id: string;
      goods_type_id: string;
      quantity: number;
      properties: string;
      reserved_quantity: number;
    }[]
  >(
    `SELECT id, request_id, goods_type_id, quantity, properties, reserved_quantity FROM request_item
     ORDER BY request_id, position`,
  );
  const reservations = await dataSource.query<{ goods_id: string; request_item_id: string }[]>(
    `SELECT goods_id, request_item_id FROM reservation`,
  );
  const truthy = (v: unknown) => v === true || Number(v) === 1;
  return {
    goods: goods.map((g) => ({
      id: g.id,
      typeId: g.type_id,
      properties: JSON.parse(g.properties) as Record<string, unknown>,
      inStock: truthy(g.in_stock),
    })),
    requests,
    items: items.map((i) => ({
      id: i.id,
      requestId: i.request_id,
      typeId: i.goods_type_id,
      quantity: Number(i.quantity),
      properties: JSON.parse(i.properties) as Record<string, unknown>,
      reservedQuantity: Number(i.reserved_quantity),
    })),
    reservations: new Map(reservations.map((r) => [r.goods_id, r.request_item_id])),
    reservedFlags: new Set(goods.filter((g) => truthy(g.reserved)).map((g) => g.id)),
  };
}

/**
 * Checks what must hold whatever happened: no object reserved twice (the map would have lost one,
 * so the count is compared), the goods flag and item counts agree with the reservations, statuses
 * agree with the counts, and requests were served in order: no request holds goods that an earlier,
 * still unsatisfied request of its lane could use. Returns the problems found.
 */
export async function consistencyProblems(dataSource: DataSource): Promise<string[]> {
  const problems: string[] = [];
  const [{ n: reservationRows }] = await dataSource.query<{ n: string }[]>(
    `SELECT count(*) AS n FROM reservation`,
  );
  const state = await readState(dataSource);
  if (Number(reservationRows) !== state.reservations.size) {
    problems.push(`${reservationRows} reservations hold ${state.reservations.size} distinct goods`);
  }
  for (const goodsId of state.reservations.keys()) {
    if (!state.reservedFlags.has(goodsId)) problems.push(`goods ${goodsId} is reserved but not flagged`);
  }
  for (const goodsId of state.reservedFlags) {
    if (!state.reservations.has(goodsId))
      problems.push(`goods ${goodsId} is flagged but holds no reservation`);
  }
  const perItem = new Map<string, number>();
  for (const itemId of state.reservations.values()) perItem.set(itemId, (perItem.get(itemId) ?? 0) + 1);
  const itemsOf = new Map<string, ItemRow[]>();
  for (const item of state.items) {
    if ((perItem.get(item.id) ?? 0) !== item.reservedQuantity) {
      problems.push(
        `item ${item.id} counts ${item.reservedQuantity} reserved but holds ${perItem.get(item.id) ?? 0}`,
      );
    }
    itemsOf.set(item.requestId, [...(itemsOf.get(item.requestId) ?? []), item]);
  }
  const goodsById = new Map(state.goods.map((g) => [g.id, g]));
  const goodsOfItem = new Map<string, string[]>();
  for (const [goodsId, itemId] of state.reservations)
    goodsOfItem.set(itemId, [...(goodsOfItem.get(itemId) ?? []), goodsId]);
  const unsatisfiedBefore = new Map<string, { typeId: string; properties: Record<string, unknown> }[]>();
  for (const request of state.requests) {
    const items = itemsOf.get(request.id) ?? [];
    const covered = items.every((i) => i.reservedQuantity === i.quantity);
    if (request.status === 'pending' && covered)
      problems.push(`request ${request.id} is covered but pending`);
    if (request.status === 'reserved' && !covered)
      problems.push(`request ${request.id} is reserved but not covered`);
    const earlier = unsatisfiedBefore.get(request.lane) ?? [];
    for (const item of items) {
      for (const goodsId of goodsOfItem.get(item.id) ?? []) {
        const goods = goodsById.get(goodsId);
        if (!goods) continue;
        const wanted = earlier.find(
          (e) => e.typeId === goods.typeId && propertiesMatch(goods.properties, e.properties),
        );
        if (wanted) {
          problems.push(
            `request ${request.id} holds goods ${goodsId} that an earlier unsatisfied request of lane ${request.lane} wants`,
          );
        }
      }
    }
    if (request.status === 'pending') {
      const keys = new Set(earlier.map((e) => demandKey(e.typeId, e.properties)));
      for (const item of items) {
        if (item.reservedQuantity < item.quantity && !keys.has(demandKey(item.typeId, item.properties))) {
          earlier.push({ typeId: item.typeId, properties: item.properties });
          keys.add(demandKey(item.typeId, item.properties));
        }
      }
      unsatisfiedBefore.set(request.lane, earlier);
    }
  }
  return problems;
}

/**
 * The reserver's rule written the plain way: for each pending request of a lane in id order, each
 * item takes the free in-stock goods of its type whose properties match, oldest first. It applies
 * one pass to a copy of `reservations` and returns the copy.
 */
export function modelPass(
  state: ReservationState,
  lane: string,
  reservations: Map<string, string>,
): Map<string, string> {
  const result = new Map(reservations);
  const taken = new Set(result.keys());
  const reservedOf = new Map<string, number>();
  for (const itemId of result.values()) reservedOf.set(itemId, (reservedOf.get(itemId) ?? 0) + 1);
  const itemsOf = new Map<string, ItemRow[]>();
  for (const item of state.items) itemsOf.set(item.requestId, [...(itemsOf.get(item.requestId) ?? []), item]);
  for (const request of state.requests) {
    if (request.lane !== lane) continue;
    const items = itemsOf.get(request.id) ?? [];
    if (items.every((i) => (reservedOf.get(i.id) ?? 0) === i.quantity)) continue;
    for (const item of items) {
      let need = item.quantity - (reservedOf.get(item.id) ?? 0);
      for (const goods of state.goods) {
        if (need === 0) break;
        if (goods.typeId !== item.typeId || !goods.inStock || taken.has(goods.id)) continue;
        if (!propertiesMatch(goods.properties, item.properties)) continue;
        taken.add(goods.id);
        result.set(goods.id, item.id);
        reservedOf.set(item.id, (reservedOf.get(item.id) ?? 0) + 1);
        need--;
      }
    }
  }
  return result;
}
