/**
 * The consumer over its group socket (../group-subscription.ts): one connection for every
 * assigned partition, whose server-side session heartbeats for the member, so a hidden tab with
 * throttled timers keeps its partitions while the socket is open. The consumer itself keeps no
 * timer and never heartbeats (a heartbeat would release what a frame revoked before the client
 * committed it).
 */
import { GROUP_CLOSE, GroupSubscription, type Assignment, type TopicPartition } from "../group-subscription";
import { Backoff } from "../backoff";
import { EdgelogError, type ErrorCode, isErrorCode } from "../../protocol/errors";
import { isRetriable } from "../http";
import { tpKey, type ConsumerCore } from "./core";

/**
 * Consumes until stop() or a failure. A member that is gone (expired, fenced, taken over) joins
 * again as a new one. Answers "fallback" when no socket could be opened at all, having let go of
 * everything: long-polling takes over then.
 */
export async function consumeOverSocket(core: ConsumerCore): Promise<"fallback" | undefined> {
  core.onStaleGeneration = () => {}; // the assignment frame of the new generation is on its way
  const backoff = new Backoff({ initialMs: 200, maxMs: 5_000 });
  while (core.running) {
    let unregister = () => {};
    const end = await new Promise<{ code: number; message: string; error?: unknown }>((resolve) => {
      const socket = new GroupSubscription({
        url: core.http.url,
        token: core.options.token,
        groupId: core.options.groupId,
        memberId: core.memberId!,
        autoOffsetReset: core.options.autoOffsetReset,
        isolation: core.options.isolation,
        WebSocket: core.options.WebSocket,
        maxFailedConnects: 3,
        onAssignment: (a) => assigned(core, a),
        onRecords: async ({ topic, partition, records, highWatermark, nextOffset }) => {
          const o = core.owned.get(tpKey({ topic, partition }));
          if (o && !o.stopping && core.running)
            await core.handle(
              o,
              records.filter((r) => r.offset >= o.position),
              highWatermark,
              nextOffset,
            );
        },
        onReset: ({ topic, partition, offset }) => {
          const o = core.owned.get(tpKey({ topic, partition }));
          if (o) o.position = offset;
        },
        onError: (error) => core.report(error),
        onEnd: resolve,
      });
      unregister = core.onInterrupt(() => socket.close());
      socket.start();
    });
    unregister();
    if (!core.running) return;
    if (end.code === GROUP_CLOSE.unreachable) {
      await core.release([...core.owned.values()], core.options.autoCommit);
      return "fallback";
    }
    if (end.code === GROUP_CLOSE.handlerFailed && isRetriable(end.error)) {
      // Taking a partition failed for want of an answer (the server restarting): connect again,
      // keeping what we hold; the next connection's assignment frame restates every partition.
      core.report(end.error);
      await pause(core, backoff.next());
      continue;
    }
    if (end.code === GROUP_CLOSE.accessRevoked) {
      // The credential no longer allows it: joining again would be refused too.
      core.fail(new EdgelogError(accessCode(end.message), `the group subscription was ended by the server: ${end.message}`));
      return;
    }
    if (end.code !== GROUP_CLOSE.unknownMember && end.code !== GROUP_CLOSE.fenced && end.code !== GROUP_CLOSE.replaced) {
      core.fail(end.error ?? new Error(`the group subscription ended: ${end.message}`));
      return;
    }
    // Expired, replaced or taken over: everything we held is gone; start over as a new member.
    await core.release([...core.owned.values()], false);
    await rejoin(core, backoff);
  }
}

/** Joins again as a new member, retrying while the server cannot answer (until stop()). */
async function rejoin(core: ConsumerCore, backoff: Backoff): Promise<void> {
  while (core.running) {
    try {
      await core.join();
      backoff.reset();
      return;
    } catch (err) {
      if (!isRetriable(err)) throw err;
      core.report(err);
      await pause(core, backoff.next());
    }
  }
}

/** Waits `ms`, or less if stop() comes first. */
function pause(core: ConsumerCore, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      unregister();
      resolve();
    };
    const timer = setTimeout(done, ms);
    const unregister = core.onInterrupt(done);
  });
}

/**
 * An assignment frame: gives up what was taken away (commits it first), commits positions a
 * stale generation refused, and answers where each partition new to the connection starts.
 */
async function assigned(core: ConsumerCore, a: Assignment): Promise<(TopicPartition & { offset: number })[]> {
  core.generation = a.generation;
  const revoked = core.revokedBy(a.assignment);
  if (revoked.length > 0) await core.release(revoked, core.options.autoCommit);
  if (core.options.autoCommit) await core.commit([...core.owned.values()]);
  const starts: (TopicPartition & { offset: number })[] = [];
  for (const p of a.fresh) {
    const tp = { topic: p.topic, partition: p.partition };
    const o =
      core.owned.get(tpKey(tp)) ??
      (await core.own(tp, p.committed === null ? undefined : { offset: p.committed, resetId: p.resetId ?? 0 }));
    starts.push({ ...tp, offset: o.position });
  }
  return starts;
}

/** The error code in an access close's reason ({"code"}), else SASL_AUTHENTICATION_FAILED. */
function accessCode(reason: string): ErrorCode {
  try {
    const code = (JSON.parse(reason) as { code?: unknown }).code;
    if (isErrorCode(code)) return code;
  } catch {
    // not a JSON reason
  }
  return "SASL_AUTHENTICATION_FAILED";
}
