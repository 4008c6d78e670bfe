// The sending side of bench/ingest.ts, as its own process (its own core): ONE connection that
// sends IOC buy orders (an empty book: each is acknowledged and its residual cancelled, nothing
// rests) as fast as the window allows, in blocks of pre-encoded frames, and counts reply bytes
// without decoding them. Prints one JSON line: messages acknowledged, seconds, msgs/s.
//
//   node --import tsx bench/ingest-client.ts '{"port":7070,"seconds":3,"window":65536,"block":2048}'
import net from 'node:net';
import { FrameWriter, encodeCredential, writeU32, writeI64 } from '../src/protocol/codec.js';
import * as P from '../assembly/protocol-layout.js';
import * as L from '../assembly/layout.js';

interface ClientConfig { port: number; seconds: number; window: number; block: number; account?: number; credential?: string }
const cfg = JSON.parse(process.argv[2] ?? '{}') as ClientConfig;
const FRAME = P.FRAME_HEADER_SIZE + P.BODY_COMMAND;
const REPLY = P.FRAME_HEADER_SIZE + P.BODY_EXEC;

const sock = net.connect({ port: cfg.port, host: '127.0.0.1', noDelay: true });
await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));

const w = new FrameWriter(64);
w.login(cfg.account ?? 1, encodeCredential(cfg.credential ?? 'demo')!);
let replyBytes = 0;
let loginAck = false;
sock.on('data', (d: Buffer) => {
  if (!loginAck) {
    loginAck = true;
    replyBytes += d.length - (P.FRAME_HEADER_SIZE + P.BODY_LOGIN_ACK);
  } else replyBytes += d.length;
});
sock.write(w.take());
while (!loginAck) await new Promise((r) => setTimeout(r, 1));

// One block of IOC buys; each send rewrites the frames' seqs and order ids.
const block = new FrameWriter(cfg.block * FRAME);
for (let i = 0; i < cfg.block; i++) {
  block.command(P.MSG_NEW, { symbol: 1, side: L.SIDE_BUY, orderType: L.ORDER_LIMIT, tif: L.TIF_IOC, price: 100, quantity: 1 });
}
const bytes = block.u8.subarray(0, block.length);
let seq = 2; // LOGIN was 1
let sent = 0;
const fill = () => {
  for (let i = 0; i < cfg.block; i++) {
    const at = i * FRAME;
    writeU32(bytes, at + P.FRAME_SEQ, seq++);
    writeI64(bytes, at + P.FRAME_HEADER_SIZE + L.CMD_ORDER_ID, seq);
  }
  sent += cfg.block;
  return Buffer.from(bytes); // a copy: socket.write keeps it until sent
};

// Replies per message: send one block, wait for its replies to stop growing.
sock.write(fill());
let last = -1;
while (replyBytes !== last || replyBytes === 0) {
  last = replyBytes;
  await new Promise((r) => setTimeout(r, 50));
}
const repliesPerMessage = Math.round(replyBytes / REPLY / cfg.block);
const acked = () => Math.floor(replyBytes / REPLY / repliesPerMessage);

const start = performance.now();
const ackedAtStart = acked();
const end = start + cfg.seconds * 1000;
await new Promise<void>((resolve) => {
  const pump = () => {
    if (performance.now() >= end) return resolve();
    while (sent - acked() < cfg.window && sock.writableLength < cfg.block * FRAME * 4) sock.write(fill());
    setImmediate(pump);
  };
  pump();
});
const seconds = (performance.now() - start) / 1000;
const messages = acked() - ackedAtStart;
process.stdout.write(`${JSON.stringify({ messages, seconds, msgsPerSecond: messages / seconds, repliesPerMessage })}\n`);
sock.destroy();
process.exit(0);
