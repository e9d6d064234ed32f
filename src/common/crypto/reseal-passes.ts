/** What one pass of sealing every stored value again found. */
export interface ResealCounts {
  resealed: number;
  current: number;
  /** The rows holding a value that opens with neither key, named for people. */
  unopenable: string[];
}

/** Passes made at most, while each still finds values sealed with the previous key. */
const MAX_PASSES = 5;

/**
 * Seals every stored value again in passes: a row changed between a pass's read and its write is
 * left to that change, which may have kept an old value (a webhook secret rotated out keeps its
 * sealed text), so passes repeat until one after the first finds nothing left on the previous
 * key. `unsettled` is what the last pass still sealed again: more than 0 means rows kept changing.
 * The totals count each row once: one a later pass sealed again was counted current by the first.
 */
export async function resealInPasses(
  pass: () => Promise<ResealCounts>,
): Promise<ResealCounts & { unsettled: number }> {
  const first = await pass();
  let { unopenable } = first;
  let resealed = first.resealed;
  let unsettled = first.resealed;
  for (let made = 1; (made === 1 || unsettled > 0) && made < MAX_PASSES; made++) {
    const next = await pass();
    ({ unopenable } = next);
    unsettled = next.resealed;
    resealed += unsettled;
  }
  return {
    resealed,
    current: Math.max(0, first.current - (resealed - first.resealed)),
    unopenable,
    unsettled,
  };
}
