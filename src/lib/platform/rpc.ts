// A Durable Object as its callers see it over RPC. The runtime's own stub type recurses through every JSON result
// type until the compiler gives up ("excessively deep"); objects that answer plain serialisable data (all of ours,
// refusals included: src/lib/platform/refusal.ts) are seen exactly by this view instead.

/** The object's public methods with the same signatures, answering promises. */
export type RpcClient<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};
