/**
 * The consumer's two transports, for suites that run once over each: its group WebSocket (with
 * the `ws` package, as Node has no global WebSocket) and HTTP long-polling.
 *
 * @example
 * describe.each(CONSUMER_TRANSPORTS)("over %s", (name, transport) => { ... new Consumer({ ...transport, ... }) });
 */
import WebSocket from "ws";

export const CONSUMER_TRANSPORTS = [
  ["websocket", { transport: "websocket" as const, WebSocket: WebSocket as never }],
  ["http", { transport: "http" as const }],
] as const;
