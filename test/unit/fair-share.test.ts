/** Work shared between tenants (functions/domain/fair-share.ts): turns by key, and at most a key's share of the lanes. */
import { takeTurns, workFairly } from '#domain/fair-share';

const byKey = (item: string) => item[0];

test('takeTurns: keys in turn, each key in its order, up to the limit', () => {
  expect(takeTurns(['a1', 'a2', 'a3', 'a4', 'b1', 'c1', 'c2'], byKey, 5)).toEqual(['a1', 'b1', 'c1', 'a2', 'c2']);
  expect(takeTurns(['a1', 'a2', 'b1'], byKey, 10)).toEqual(['a1', 'b1', 'a2']);
  expect(takeTurns([], byKey, 3)).toEqual([]);
});

test("workFairly: at most perKey of a key at once, concurrency in all; a key that stops going on leaves the others' items", async () => {
  const running = new Map<string, number>();
  let most = 0;
  const mostPerKey = new Map<string, number>();
  const done: string[] = [];
  const items = ['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'c1', 'c2', 'c3'];
  await workFairly(items, byKey, { concurrency: 3, perKey: 2, goOn: (key) => !(key === 'c' && done.includes('c1')) }, async (item, key) => {
    running.set(key, (running.get(key) ?? 0) + 1);
    mostPerKey.set(key, Math.max(mostPerKey.get(key) ?? 0, running.get(key)!));
    most = Math.max(most, [...running.values()].reduce((sum, n) => sum + n, 0));
    await new Promise((resolve) => setTimeout(resolve, 5));
    running.set(key, running.get(key)! - 1);
    done.push(item);
  });
  expect(most).toBe(3);
  expect(Math.max(...mostPerKey.values())).toBe(2);
  expect(done.filter((item) => item.startsWith('a')).sort()).toEqual(['a1', 'a2', 'a3', 'a4']);
  expect(done.filter((item) => item.startsWith('b')).sort()).toEqual(['b1', 'b2']);
  // c2 may have started beside c1; c3 never does once c1 is done.
  expect(done).not.toContain('c3');
});
