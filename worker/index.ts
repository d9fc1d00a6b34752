/**
 * edgelog's Worker: the HTTP API and the Durable Object classes it routes to.
 */
import { createApp } from "./api/app";

export { Access } from "./access/access-do";
export { Quota } from "./access/quota-do";
export { Controller } from "./controller/controller-do";
export { Group } from "./group/group-do";
export { Partition } from "./partition/partition-do";
export { GroupSession } from "./session/session-do";
export { TransactionCoordinator } from "./txn/coordinator-do";

export default createApp();
