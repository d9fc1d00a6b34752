/**
 * Golden frames of the group socket, frozen on purpose: the worker builds them (worker/session/
 * frames.ts) with the types protocol/wire/group-frames.ts declares, and web-client reads them by
 * those types. A changed byte fails here.
 */
import { describe, expect, it } from "vitest";
import { EdgelogError } from "../../protocol/errors";
import type { GroupServerFrame } from "../../protocol/wire";
import { assignmentFrame, closeReason, errorFrame, recordsFrame, resetFrame } from "../../worker/session/frames";

const tp = { topic: "orders", partition: 1 };

describe("the group socket's server frames", () => {
  it("are the JSON text the shared frame types describe", () => {
    const frames = [
      assignmentFrame(3, [{ ...tp, committed: 7, resetId: null }], [{ topic: "orders", partition: 0 }]),
      recordsFrame(tp, 3, ['{"offset":7}'], { nextOffset: 8, highWatermark: 9, bytes: 12 }),
      resetFrame(tp, 2, 5, new EdgelogError("OFFSET_OUT_OF_RANGE", "gone")),
      errorFrame(new EdgelogError("INVALID_REQUEST", "bad")),
    ];
    expect(frames).toEqual([
      '{"type":"assignment","generation":3,"assignment":[{"topic":"orders","partition":1,"committed":7,"resetId":null}],"revoked":[{"topic":"orders","partition":0}]}',
      '{"type":"records","topic":"orders","partition":1,"generation":3,"records":[{"offset":7}],"nextOffset":8,"highWatermark":9,"bytes":12}',
      '{"type":"reset","topic":"orders","partition":1,"from":2,"offset":5,"error":{"code":"OFFSET_OUT_OF_RANGE","message":"gone","retriable":false}}',
      '{"type":"error","error":{"code":"INVALID_REQUEST","message":"bad","retriable":false}}',
    ]);
    expect(frames.map((f) => (JSON.parse(f) as GroupServerFrame).type)).toEqual(["assignment", "records", "reset", "error"]);
    expect(closeReason("UNKNOWN_MEMBER_ID")).toBe('{"code":"UNKNOWN_MEMBER_ID"}');
  });
});
