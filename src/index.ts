// clob's public library API.
export { Engine } from './engine.js';
export type { Command, EngineOptions, SymbolSpec, NewOrder, CancelOrder, ModifyOrder, MassCancel, Level, QueuedOrder, OrderInfo, LimboStats } from './engine.js';
export type { EngineEvent, AcceptedEvent, RejectedEvent, TradeEvent, CancelledEvent, ModifiedEvent, LevelEvent, SymbolStatusEvent } from './events.js';
export type { Side, OrderType, TimeInForce, SelfTradePrevention, RejectReason, CancelReason, SymbolStatus, CommandName } from './codes.js';
export type { Int } from './int.js';
export type { CoreBuild } from './core.js';
export { CommandWriter, EventReader } from './batch.js';
export type { RawCommand, RawEvent } from './records.js';
export * as codes from '../assembly/layout.js';
export { ShardedEngine, defaultShardOf, type ShardedEngineOptions, type ShardStats, type ShardSnapshot } from './shard/sharded-engine.js';
export { LiveBookReader, type LiveBook, type ReaderStats } from './live-book-reader.js';
