import { isDeepStrictEqual } from 'node:util';

/** Goods match a request item when every property the item names has the same value on the goods. */
export function propertiesMatch(goods: Record<string, unknown>, wanted: Record<string, unknown>): boolean {
  for (const [key, value] of Object.entries(wanted)) {
    if (!isDeepStrictEqual(goods[key], value)) return false;
  }
  return true;
}

/** One key per distinct (goods type, wanted properties): items with equal keys compete for the same goods. */
export function demandKey(goodsTypeId: string, wanted: Record<string, unknown>): string {
  const sorted = Object.keys(wanted)
    .sort()
    .map((key) => [key, wanted[key]]);
  return `${goodsTypeId} ${JSON.stringify(sorted)}`;
}
