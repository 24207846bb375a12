// The WebSocket relay in front of a real Postgres: each session gets its own server connection,
// authenticated by the bridge (see PostgresBackend.connectSession), then a plain byte pipe.
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import type { PostgresBackend } from "./backend";
import {
  authenticationOk,
  backendKeyData,
  errorResponse,
  FrontendReader,
  parameterStatus,
  readyForQuery,
} from "./pg-wire";
import { closeWs, type RelayOptions, type RelaySession, SSL_REFUSED, sendTo, toBuffer } from "./ws-session";

export class PostgresRelay implements RelaySession {
  readonly done: Promise<void>;
  #resolveDone: () => void = () => {};
  #closed = false;
  readonly #reader = new FrontendReader();
  #upstream: Duplex | undefined;
  #connecting = false;
  /** Messages after the StartupMessage, held until the server connection is authenticated. */
  #pending: Buffer[] = [];

  constructor(
    private readonly ws: WebSocket,
    private readonly backend: PostgresBackend,
    private readonly opts: RelayOptions,
  ) {
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    ws.on("message", (data) => this.#onClient(toBuffer(data)));
    ws.on("close", () => this.close("client closed"));
    ws.on("error", (error) => this.close(`client error: ${error.message}`));
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(_reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    closeWs(this.ws);
    // The server rolls back whatever the session left open when its connection goes.
    this.#upstream?.destroy();
    this.#resolveDone();
  }

  #onClient(chunk: Buffer): void {
    if (this.#closed) return;
    if (this.#upstream) {
      this.#upstream.write(chunk);
      return;
    }
    let messages: ReturnType<FrontendReader["push"]>;
    try {
      messages = this.#reader.push(chunk);
    } catch (error) {
      this.#fatal("08P01", `db-bridge: ${(error as Error).message}`);
      return;
    }
    for (const m of messages) {
      if (this.#connecting) {
        // The bridge authenticates on the client's behalf and answers AuthenticationOk itself, so a
        // password sent ahead (the driver's pipelineConnect) must not reach the server.
        if (!(m.kind === "typed" && m.type === "p")) this.#pending.push(m.bytes);
      } else if (m.kind === "ssl-request" || m.kind === "gssenc-request") {
        sendTo(this.ws, SSL_REFUSED);
      } else if (m.kind === "cancel") {
        this.close("CancelRequest (not relayed)");
        return;
      } else if (m.kind === "startup") {
        this.#connecting = true;
        void this.#connect(m.params);
      } else {
        this.#fatal("08P01", "db-bridge: expected a StartupMessage first");
        return;
      }
    }
  }

  async #connect(startup: Map<string, string>): Promise<void> {
    let connection: Awaited<ReturnType<PostgresBackend["connectSession"]>>;
    try {
      connection = await this.backend.connectSession(startup);
    } catch (error) {
      const e = error as { code?: unknown; message?: unknown };
      const code = typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : "08006";
      this.opts.log(`WebSocket session could not reach Postgres: ${String(e.message)}`);
      this.#fatal(code, `db-bridge: cannot open a Postgres session: ${String(e.message)}`);
      return;
    }
    if (this.#closed) {
      connection.stream.destroy();
      return;
    }
    const upstream = connection.stream;
    this.#upstream = upstream;
    // The client sees a normal startup: trust authentication, then the server's own parameters.
    sendTo(
      this.ws,
      Buffer.concat([
        authenticationOk(),
        ...connection.parameters.map(([name, value]) => parameterStatus(name, value)),
        backendKeyData(connection.processId, connection.secretKey),
        readyForQuery("I"),
      ]),
    );
    upstream.on("data", (chunk: Buffer) => sendTo(this.ws, chunk));
    upstream.on("close", () => this.close("server closed the connection"));
    upstream.on("error", (error: Error) => this.close(`server connection error: ${error.message}`));
    // From here on a plain pipe: whole messages held so far, then any partial one.
    const pending = Buffer.concat([...this.#pending, this.#reader.takeRest()]);
    this.#pending = [];
    if (pending.length > 0) upstream.write(pending);
  }

  #fatal(code: string, message: string): void {
    sendTo(this.ws, errorResponse({ severity: "FATAL", code, message }));
    this.close(message);
  }
}
