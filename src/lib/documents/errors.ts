// The ways a document can be refused, in the one error shape: 422 for a file that is not what it claims or that
// breaks a limit while being read (its bytes were fine as an upload; its content cannot be extracted).
import { ApiError } from "../platform/errors";

export const notFormat = (format: string) =>
  new ApiError("unprocessable", `The file is not a readable ${format}: it may be corrupt or truncated`);

export const refused = (why: string) => new ApiError("unprocessable", `The document was refused: ${why}`);
