/**
 * Background work shared fairly between tenants (clients, endpoints): one
 * key's backlog or slow items never hold back another key's. Used by the
 * delivery worker (by endpoint) and the asset worker's sweep (by client).
 */

/** The items by key, each key's in their order. */
function byKey<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const queues = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const queue = queues.get(key);
    if (queue === undefined) queues.set(key, [item]);
    else queue.push(item);
  }
  return queues;
}

/** Up to `limit` items, the keys taking turns (each key's items in their order): a key with many items gets no more than its turn. */
export function takeTurns<T>(items: readonly T[], keyOf: (item: T) => string, limit: number): T[] {
  const queues = byKey(items, keyOf);
  const taken: T[] = [];
  for (let round = 0; taken.length < limit; round += 1) {
    let any = false;
    for (const queue of queues.values()) {
      if (round >= queue.length) continue;
      any = true;
      taken.push(queue[round]);
      if (taken.length === limit) break;
    }
    if (!any) break;
  }
  return taken;
}

/** A FIFO counting semaphore: lanes take turns for the slots. */
function semaphore(size: number) {
  let free = size;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (free > 0) free -= 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free += 1;
    }
  };
}

export interface FairShare {
  /** Items worked on at once, in all. */
  readonly concurrency: number;
  /** Items of one key worked on at once: a key whose items hang holds at most this many slots. */
  readonly perKey: number;
  /** Whether a key's items may still go (checked before each, also after waiting for a slot); false ends that key's share of the run. */
  readonly goOn?: (key: string) => boolean;
}

/** Works through the items by key: each key's in order, at most `perKey` of a key at once, `concurrency` in all, keys in turn for free slots. */
export async function workFairly<T>(items: readonly T[], keyOf: (item: T) => string, share: FairShare, work: (item: T, key: string) => Promise<void>): Promise<void> {
  const queues = byKey(items, keyOf);
  const slot = semaphore(Math.max(1, share.concurrency));
  const goOn = share.goOn ?? (() => true);
  await Promise.all(
    [...queues].map(([key, queue]) =>
      Promise.all(
        Array.from({ length: Math.min(Math.max(1, share.perKey), queue.length) }, async () => {
          while (queue.length > 0 && goOn(key)) {
            const item = queue.shift()!;
            await slot(async () => {
              if (goOn(key)) await work(item, key);
            });
          }
        }),
      ),
    ),
  );
}
