/**
 * Run `fn` over `items` with at most `size` in flight; results keep the items' order. rpmbuild
 * spends much of its time starting up and in its own shell scripts, so a pool a little larger
 * than the core count keeps both cores busy.
 */
export async function pool<T, R>(items: readonly T[], size: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(size, items.length)) }, worker));
  return results;
}
