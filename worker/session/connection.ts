/**
 * A group socket as its session sees it: the WebSocket, its options and its credit, with the
 * attachment that carries them across hibernation (a few dozen bytes, and the grant with auth on:
 * well under the 2 KB limit unless a token's acl claim is long).
 */
import type { Grant } from "../access/authorizer";
import { Credit, type CreditSnapshot } from "./credit";
import type { AutoOffsetReset } from "./frames";

export interface Attachment {
  /** Increases with each connection of the session: only the newest one gets records. */
  id: number;
  autoOffsetReset: AutoOffsetReset;
  /** isolation=read_committed: reads stop at the last stable offset, aborted records left out. */
  committed?: boolean;
  /** Whether this socket got its first assignment frame. */
  told: boolean;
  credit: CreditSnapshot;
  /** With auth on: the grant the socket was opened with (checked again at each heartbeat). */
  grant?: Grant;
}

export class Connection {
  readonly ws: WebSocket;
  readonly id: number;
  readonly autoOffsetReset: AutoOffsetReset;
  readonly committed: boolean;
  readonly credit: Credit;
  readonly grant: Grant | undefined;
  told: boolean;

  constructor(ws: WebSocket, attachment: Attachment) {
    this.ws = ws;
    this.id = attachment.id;
    this.autoOffsetReset = attachment.autoOffsetReset;
    this.committed = attachment.committed === true;
    this.credit = new Credit(attachment.credit);
    this.told = attachment.told;
    this.grant = attachment.grant;
  }

  /** The attachment of a socket, or null (not one of the session's). */
  static attachmentOf(ws: WebSocket): Attachment | null {
    return (ws.deserializeAttachment() as Attachment | null) ?? null;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Keeps the credit and the told flag in the attachment. */
  save(): void {
    const attachment: Attachment = {
      id: this.id,
      autoOffsetReset: this.autoOffsetReset,
      ...(this.committed ? { committed: true } : {}),
      told: this.told,
      credit: this.credit.snapshot(),
      grant: this.grant,
    };
    this.ws.serializeAttachment(attachment);
  }

  send(frame: string): void {
    if (this.open) this.ws.send(frame);
  }

  close(code: number, reason: string): void {
    closeSocket(this.ws, code, reason);
  }
}

/** Closes a socket, ignoring one that is closing already. */
export function closeSocket(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // already closing
  }
}
