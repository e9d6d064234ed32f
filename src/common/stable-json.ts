/**
 * JSON with object keys in order, so equal content hashes equally whatever order the partner sends.
 * Its output is what stored hashes were made from: it must not change. Hot (every synced item),
 * so it builds one string without intermediate arrays and sorts only keys that are out of order.
 */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + stableJson(value[i]);
    return `${out}]`;
  }
  const keys = Object.keys(value);
  if (!inOrder(keys)) keys.sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    out += `${i === 0 ? '' : ','}${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`;
  }
  return `${out}}`;
}

function inOrder(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1] > keys[i]) return false;
  return true;
}
