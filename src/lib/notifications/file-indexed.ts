// The file.indexed notification: a file whose text was indexed through the queue (too large to index within its
// upload request) is searchable now. Files indexed inside their request need no notice: the answer says so.
import type { FileItem } from "../files/model";
import type { Env } from "../platform/env";
import { notify } from "./notify";

/** Notifies the owner; the live event is awaited here, since a queue consumer has no request to outlive. */
export async function notifyFileIndexed(env: Env, userId: string, item: FileItem): Promise<void> {
  const pending: Promise<unknown>[] = [];
  await notify(
    env,
    { waitUntil: (p) => void pending.push(p) },
    {
      // One entry per content: re-indexing the same bytes again is not news.
      id: `file:${item.id}:${item.sha256}`,
      userId,
      kind: "file.indexed",
      title: `${item.name} is indexed`,
      body: `Its text is searchable now (${item.index.status}).`,
      data: { fileId: item.id, path: item.path, status: item.index.status },
    },
  );
  await Promise.all(pending);
}
