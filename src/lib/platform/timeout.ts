// One way to bound a wait: the promise, or `onTimeout()`'s error after `ms`, whichever comes first.
// The losing promise is not cancelled (JavaScript cannot); its late result is dropped.
export function withTimeout<T>(promise: T | Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: number | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms) as unknown as number;
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
