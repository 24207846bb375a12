// bench:mcts's service half (filled in with the service).
export async function runServiceBench(): Promise<null> {
  return null;
}
