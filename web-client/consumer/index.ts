/**
 * The group consumer.
 *
 *   consumer.ts     the Consumer: run, stop, commit
 *   options.ts      options, their defaults and checks
 *   core.ts         membership and owned partitions: take, handle, commit, let go
 *   over-socket.ts  every partition over one group socket (the session heartbeats for the member)
 *   over-http.ts    a heartbeat loop and long-polled fetches, where no socket opens
 *
 * @example
 * const consumer = new Consumer({ url: location.origin, groupId: "dashboard", topics: ["sensors"] });
 * consumer.run({ eachBatch: async ({ records }) => records.forEach((r) => console.log(r.value)) });
 */
export { Consumer } from "./consumer";
export type { ConsumedBatch, ConsumerOptions } from "./options";
export type { TopicPartition } from "../group-subscription";
