/**
 * A group socket's credit: what the client granted and the server has not sent yet.
 *
 * Several partitions are read at once, so a send first reserves its share of the credit: the
 * records and bytes it may send. The sum of what is reserved and sent never exceeds what was
 * granted, so the server never sends past the credit. When the send is done, what it sent is
 * spent and the rest of its reservation goes back.
 *
 * The first grant decides what is limited: a dimension it leaves out is unlimited (Infinity), as
 * in push.ts. Before any grant nothing may be sent.
 *
 * @example
 * const credit = new Credit();
 * credit.grant(100, undefined);                          // 100 records, bytes unlimited
 * const r = credit.reserve(4, 1, { records: 5_000, bytes: 1 << 20 });  // 25 records for one of 4 readers
 * credit.settle(r!, 10, 2_000);                          // sent 10; 15 go back
 */

export interface Reservation {
  records: number;
  bytes: number;
}

/** What a socket's attachment keeps of its credit (reservations are given back when the object restarts). */
export interface CreditSnapshot {
  granted: boolean;
  records: number;
  bytes: number;
}

export class Credit {
  #granted = false;
  /** Available: granted, minus sent, minus reserved. */
  #records = 0;
  #bytes = 0;
  #reserved: Reservation = { records: 0, bytes: 0 };

  constructor(snapshot?: CreditSnapshot) {
    if (snapshot) {
      this.#granted = snapshot.granted;
      this.#records = snapshot.records;
      this.#bytes = snapshot.bytes;
    }
  }

  grant(records: number | undefined, bytes: number | undefined): void {
    if (!this.#granted) {
      this.#granted = true;
      this.#records = records === undefined ? Infinity : 0;
      this.#bytes = bytes === undefined ? Infinity : 0;
    }
    this.#records += records ?? 0;
    this.#bytes += bytes ?? 0;
  }

  /**
   * A share of what is available for one of `readers` readers waiting for credit: at least one
   * record and `minBytes` bytes, at most `cap`. Null when that much is not available.
   */
  share(readers: number, minBytes: number, cap: Reservation): Reservation | null {
    if (!this.#granted || this.#records < 1 || this.#bytes < minBytes) return null;
    const part = (available: number, least: number, most: number) =>
      Math.min(most, available, Math.max(least, Math.floor(available / Math.max(1, readers))));
    return { records: part(this.#records, 1, cap.records), bytes: part(this.#bytes, minBytes, Math.max(cap.bytes, minBytes)) };
  }

  /** Takes a {@link share} out of what is available, until it is settled. */
  reserve(readers: number, minBytes: number, cap: Reservation): Reservation | null {
    const r = this.share(readers, minBytes, cap);
    if (!r) return null;
    this.#records -= r.records;
    this.#bytes -= r.bytes;
    this.#reserved.records += r.records;
    this.#reserved.bytes += r.bytes;
    return r;
  }

  /** A read is over: it sent `records` and `bytes` of its reservation (never more); the rest goes back. */
  settle(r: Reservation, records: number, bytes: number): void {
    if (records > r.records || bytes > r.bytes)
      throw new Error(`sent ${records} records / ${bytes} bytes on a reservation of ${r.records} / ${r.bytes}`);
    this.#reserved.records -= r.records;
    this.#reserved.bytes -= r.bytes;
    this.#records += r.records - records;
    this.#bytes += r.bytes - bytes;
  }

  /** What was granted and not sent, reservations included. */
  snapshot(): CreditSnapshot {
    return { granted: this.#granted, records: this.#records + this.#reserved.records, bytes: this.#bytes + this.#reserved.bytes };
  }
}
