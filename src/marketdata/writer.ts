// A byte buffer that messages are encoded into. reserve(n) hands out n zeroed bytes; when the buffer
// is full it is first handed to `onFull` (which consumes it and resets `pos`), else it grows.
export class Writer {
  buf: Uint8Array;
  pos = 0;
  constructor(size: number, private readonly onFull?: (w: Writer) => void) {
    this.buf = new Uint8Array(size);
  }

  /** Offset of n fresh zeroed bytes. Read `buf` after calling: it may be replaced. */
  reserve(n: number): number {
    if (this.pos + n > this.buf.length) {
      if (this.onFull !== undefined && this.pos > 0) this.onFull(this);
      if (this.pos + n > this.buf.length) {
        const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
        next.set(this.buf.subarray(0, this.pos));
        this.buf = next;
      }
    }
    const at = this.pos;
    this.pos = at + n;
    this.buf.fill(0, at, at + n);
    return at;
  }

  /** Appends bytes (a message copied from elsewhere). */
  append(src: Uint8Array, from: number, length: number): void {
    const at = this.reserve(length);
    this.buf.set(src.subarray(from, from + length), at);
  }

  /** A copy of the bytes written, and reset. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }
}
