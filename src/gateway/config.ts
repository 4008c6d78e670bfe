// The gateway's accounts: who may log in, with which credential, at what rate, and whether their
// orders are cancelled when their last session drops. Validated once, at start.
import { readFileSync } from 'node:fs';
import * as P from '../../assembly/protocol-layout.js';
import { encodeCredential } from '../protocol/codec.js';

export interface AccountConfig {
  /** The account id the core tags orders with: 1..2^32-1 (0 means "all accounts" to MASS_CANCEL). */
  account: number;
  /** At most 32 bytes of UTF-8. */
  credential: string;
  /** Mass cancel the account's orders when its last session ends (logout or disconnect). Default false. */
  cancelOnDisconnect?: boolean;
  /** Order messages per second per session (token bucket refill); 0 = unlimited. Default: the gateway's. */
  ratePerSecond?: number;
  /** Token bucket size: a burst this long passes at once. Default: the gateway's. */
  burst?: number;
  /** Sessions at once. Default: the gateway's. */
  maxSessions?: number;
}

export interface ResolvedAccount {
  account: number;
  credential: Uint8Array;
  cancelOnDisconnect: boolean;
  ratePerSecond: number;
  burst: number;
  maxSessions: number;
}

export interface AccountDefaults { ratePerSecond: number; burst: number; maxSessions: number }

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(`gateway config: ${message}`);
}

export function resolveAccounts(accounts: AccountConfig[], defaults: AccountDefaults): Map<number, ResolvedAccount> {
  check(Array.isArray(accounts), 'accounts must be an array of { account, credential, ... }');
  const out = new Map<number, ResolvedAccount>();
  for (const a of accounts) {
    check(Number.isInteger(a?.account) && a.account >= 1 && a.account <= P.MAX_SEQ, `account must be an integer from 1 to 4294967295; got ${String(a?.account)}`);
    check(!out.has(a.account), `account ${a.account} appears twice`);
    check(typeof a.credential === 'string' && a.credential.length > 0, `account ${a.account}: credential must be a non-empty string`);
    const credential = encodeCredential(a.credential);
    check(credential !== undefined, `account ${a.account}: credential is longer than ${P.LOGIN_CREDENTIAL_SIZE} bytes of UTF-8`);
    const rate = a.ratePerSecond ?? defaults.ratePerSecond;
    const burst = a.burst ?? defaults.burst;
    const maxSessions = a.maxSessions ?? defaults.maxSessions;
    check(Number.isFinite(rate) && rate >= 0, `account ${a.account}: ratePerSecond must be >= 0`);
    check(Number.isFinite(burst) && burst >= 1, `account ${a.account}: burst must be >= 1`);
    check(Number.isInteger(maxSessions) && maxSessions >= 1, `account ${a.account}: maxSessions must be an integer >= 1`);
    out.set(a.account, { account: a.account, credential: credential!, cancelOnDisconnect: a.cancelOnDisconnect === true, ratePerSecond: rate, burst, maxSessions });
  }
  return out;
}

/** Reads `{ "accounts": [...] , ...gateway options }` from a JSON file. */
export function readGatewayConfig(path: string): { accounts: AccountConfig[]; [key: string]: unknown } {
  const json = JSON.parse(readFileSync(path, 'utf8')) as { accounts?: AccountConfig[] };
  check(Array.isArray(json.accounts), `${path}: "accounts" must be an array`);
  return json as { accounts: AccountConfig[] };
}
