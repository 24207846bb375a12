// A job's error as its owner may read it: no file-system path of the machine that ran it (docs/jobs.md).

/** Absolute POSIX paths (two segments or more) and Windows drive paths. */
const PATH = /(?:[A-Za-z]:\\|\/)(?:[\w.@+-]+[\\/])+[\w.@+-]*/g;

/** The message with every absolute path replaced by `<path>`. */
export function redactPaths(message: string): string {
  return message.replace(PATH, "<path>");
}
