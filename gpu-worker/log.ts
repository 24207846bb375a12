// One JSON object per line, like the Worker's logs, so both can go to the same collector.
export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;
export type Log = Record<LogLevel, (msg: string, fields?: LogFields) => void>;

export function createLog(minLevel: LogLevel, write: (line: string) => void = (line) => console.log(line)): Log {
  const emit = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    if (RANK[level] < RANK[minLevel]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/** A log that drops everything (tests, benches). */
export const silentLog: Log = createLog("error", () => {});

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
