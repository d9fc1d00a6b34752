/**
 * The topic metadata cache: what placing and batching need to know of a topic (its partition
 * count and max.message.bytes), asked of GET /v1/topics/{t} and trusted for metadataMaxAgeMs
 * (Kafka's metadata.max.age.ms). A failed lookup is not cached.
 */
import type { TopicDescription } from "../api-types";
import type { HttpTransport } from "../http";
import { retrying, type RetryOptions } from "./retry";

/** Kafka's default max.message.bytes: what a producer assumes when it may not DescribeConfigs the topic. */
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** What placing and batching need to know of a topic. */
export interface TopicInfo {
  partitions: number;
  maxMessageBytes: number;
}

export class TopicMetadata {
  #http: HttpTransport;
  #retries: RetryOptions;
  #maxAgeMs: number;
  #topics = new Map<string, { info: Promise<TopicInfo>; at: number }>();

  constructor(http: HttpTransport, retries: RetryOptions, maxAgeMs: number) {
    this.#http = http;
    this.#retries = retries;
    this.#maxAgeMs = maxAgeMs;
  }

  /** The topic's partition count and max.message.bytes, cached for metadataMaxAgeMs unless `refresh`. */
  get(name: string, refresh = false): Promise<TopicInfo> {
    const cached = this.#topics.get(name);
    if (cached && !refresh && Date.now() - cached.at < this.#maxAgeMs) return cached.info;
    const info = retrying(this.#retries, () => this.#http.json<TopicDescription>("GET", `/v1/topics/${encodeURIComponent(name)}`)).then(
      (d) => ({ partitions: d.partitions.length, maxMessageBytes: d.config?.["max.message.bytes"] ?? DEFAULT_MAX_MESSAGE_BYTES }),
    );
    const entry = { info, at: Date.now() };
    this.#topics.set(name, entry);
    info.catch(() => {
      if (this.#topics.get(name) === entry) this.#topics.delete(name);
    });
    return info;
  }

  /** Forgets what is known of the topic: the next get() asks again. */
  forget(name: string): void {
    this.#topics.delete(name);
  }
}
