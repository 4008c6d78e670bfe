// Encodes a workload into contiguous 64-byte command records, before any clock starts.
import * as L from '../assembly/layout.js';
import { RawCommand, writeCommand } from '../src/records.js';

export function encodeCommands(commands: RawCommand[]): Uint8Array {
  const bytes = new Uint8Array(commands.length * L.CMD_SIZE);
  const view = new DataView(bytes.buffer);
  commands.forEach((c, i) => writeCommand(view, i * L.CMD_SIZE, c));
  return bytes;
}
