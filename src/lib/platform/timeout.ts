// One way to bound a wait: the promise, or `onTimeout()`'s error after `ms`, whichever comes first.
// The losing promise is not cancelled (JavaScript cannot); its late result is dropped.
// It runs once per request (the whole-request timeout, src/lib/platform/router.ts), so it builds one promise and one
// timer: no Promise.race and no .finally, which made two more promises per request (docs/benchmarks.md).
export function withTimeout<T>(promise: T | Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    Promise.resolve(promise).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
