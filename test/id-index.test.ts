// The order-id index under hash flooding: ids that all share one home slot (built by inverting
// the hash) make one long probe run; inserts, lookups and backward-shift deletions through it
// must stay exact, and the SIMD (release) and scalar builds must agree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../src/engine.js';
import { collidingIds, homeOf } from '../bench/id-collisions.js';

const make = (build: 'release' | 'scalar') =>
  new Engine({ build, maxOrders: 4096, maxSymbols: 1, ladderTicks: 10_000, symbols: [{ id: 1, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 10_000 }] });

test('colliding ids really share a home slot', () => {
  const bits = make('release').idIndexBits;
  const ids = collidingIds(bits, 77n, 200, 1_000_003n);
  assert.is(new Set(ids.map((id) => homeOf(id, bits))).size, 1);
  assert.is(new Set(ids).size, 200);
});

test('a 1,500-long collision run: insert, look up, cancel from the middle, reuse; builds agree', () => {
  const digests: bigint[] = [];
  for (const build of ['release', 'scalar'] as const) {
    const e = make(build);
    const ids = collidingIds(e.idIndexBits, 5n, 1500, 1_000_003n);
    ids.forEach((id, i) => {
      const [ev] = e.newOrder({ symbol: 1, orderId: id, side: 'buy', price: 1 + (i % 5000), quantity: 1 });
      assert.is(ev.type, 'accepted');
    });
    // Cancel every third id: each removal shifts the run back over the hole.
    ids.forEach((id, i) => {
      if (i % 3 === 0) assert.is(e.cancel({ symbol: 1, orderId: id })[0].type, 'cancelled', `cancel #${i}`);
    });
    ids.forEach((id, i) => {
      const found = e.order(id);
      if (i % 3 === 0) assert.is(found, undefined, `#${i} is gone`);
      else assert.is(found === undefined ? undefined : BigInt(found.orderId), id, `#${i} is found`);
    });
    // Unknown colliding ids miss after walking the whole run; cancelled ids can be reused.
    for (const id of collidingIds(e.idIndexBits, 5n, 20, 999_999_937n)) assert.is(e.cancel({ symbol: 1, orderId: id })[0].type, 'rejected');
    ids.forEach((id, i) => {
      if (i % 3 === 0) assert.is(e.newOrder({ symbol: 1, orderId: id, side: 'buy', price: 1, quantity: 2 })[0].type, 'accepted');
    });
    assert.is(e.liveOrders, 1500);
    digests.push(e.digest());
  }
  assert.is(digests[0], digests[1]);
});

test('a stale handle never reaches the slot\'s next order', () => {
  for (const build of ['release', 'scalar'] as const) {
    const e = make(build);
    e.newOrder({ symbol: 1, orderId: 1, side: 'buy', price: 10, quantity: 5 });
    const first = e.order(1)!;
    assert.equal(e.orderByHandle(first.handle), first);
    e.cancel({ symbol: 1, orderId: 1 });
    e.newOrder({ symbol: 1, orderId: 2, side: 'buy', price: 11, quantity: 7 }); // takes the freed slot
    const second = e.order(2)!;
    assert.is(second.handle & 0xffffffffn, first.handle & 0xffffffffn, 'same slot');
    assert.is.not(second.handle, first.handle, 'new generation');
    assert.is(e.orderByHandle(first.handle), undefined, `${build}: the stale handle resolves to nothing`);
    assert.equal(e.orderByHandle(second.handle), second);
    assert.is(e.orderByHandle(0xffffffffn), undefined, 'a slot never handed out');
    assert.throws(() => e.orderByHandle(-1n), TypeError);
  }
});

test.run();
