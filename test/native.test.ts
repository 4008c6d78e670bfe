// Tests of the native helper (src/native.ts over build/Release/clob_native.node) and of the IRQ
// planner. `npm install` builds the addon, so an absent addon FAILS here (with the loader's reason)
// unless CLOB_NATIVE_OPTIONAL=1 says this machine cannot build it. No timed assertions; nothing here
// writes /proc or /sys (applyIrqPlan is never called).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  formatIrqPlan,
  listNetworkIrqs,
  native,
  nativeLoadError,
  parseCpuList,
  planIrqAffinity,
} from '../src/native.js';
import { nativeOptional, withNative } from './support/native.js';

const nativeModuleUrl = new URL('../src/native.ts', import.meta.url).href;
const tsxApiUrl = import.meta.resolve('tsx/esm/api');

if (!native) {
  console.log(`\n[native.test] native helper NOT loaded: ${nativeLoadError}`);
  if (nativeOptional) console.log('[native.test] CLOB_NATIVE_OPTIONAL=1: skipping the addon tests.\n');
}

test('the native addon is built and loads', () => {
  if (nativeOptional) return;
  assert.ok(native, `native helper missing: ${nativeLoadError}`);
  assert.is(nativeLoadError, undefined);
});


test('importing without the addon does not throw and explains why', () => {
  const code = `const m = await import(${JSON.stringify(nativeModuleUrl)});
    console.log(JSON.stringify({ loaded: m.native !== undefined, error: m.nativeLoadError }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    env: { ...process.env, CLOB_NATIVE_PATH: '/nonexistent/clob_native.node' },
    encoding: 'utf8',
  });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.is(out.loaded, false);
  assert.type(out.error, 'string');
  assert.match(out.error, /not built/);
});

withNative('topology: CPU count, nodes, siblings, caches', (n) => {
  const t = n.topology();
  const expected = os.cpus().length || os.availableParallelism();
  assert.is(t.onlineCpus.length, expected, 'online CPUs == os.cpus().length');
  assert.is(t.cpus.length, t.onlineCpus.length);
  assert.ok(t.numaNodes >= 1);
  assert.is(t.nodes.length, t.numaNodes);
  const nodeIds = new Set(t.nodes.map((x) => x.node));
  for (const c of t.cpus) {
    assert.ok(t.onlineCpus.includes(c.cpu));
    assert.ok(nodeIds.has(c.node), `cpu ${c.cpu} on a listed node`);
    assert.ok(c.siblings.includes(c.cpu), `cpu ${c.cpu} is its own SMT sibling`);
    assert.type(c.core, 'number');
    assert.type(c.package, 'number');
  }
  assert.is(t.smt, t.cpus.some((c) => c.siblings.length > 1));
  for (const cache of t.caches) {
    assert.ok(cache.level >= 1 && cache.level <= 4);
    assert.ok(cache.sizeBytes > 0);
    assert.ok(cache.source === 'sysfs' || cache.source === 'sysconf');
  }
});

withNative('affinity on the main thread: readable, thread id is the pid', (n) => {
  const allowed = n.getAffinity();
  assert.ok(allowed.length >= 1);
  assert.ok(allowed.every((c) => Number.isInteger(c) && c >= 0));
  assert.ok(allowed.includes(n.currentCpu()), 'current CPU is one the thread may run on');
  assert.is(n.threadId(), process.pid, 'the main thread id equals the pid');
  assert.throws(() => n.setAffinity([-1]), /non-negative integer/);
  assert.throws(() => n.setAffinity([]), /at least one CPU/);
  assert.throws(() => (n.setAffinity as (x: unknown) => number[])('0'), /array/);
});

withNative('setAffinity pins only the calling worker thread, and restores', async (n) => {
  const mainBefore = n.getAffinity();
  const target = mainBefore[0]!; // CPU 0 unless a cpuset excludes it
  // The worker loads src/native.ts itself (tsx registered inside it), pins itself, reads back,
  // restores and reports. Plain JS eval'd as CommonJS, so no TypeScript worker file is needed.
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const { register } = await import(workerData.tsx);
      register();
      const { native } = await import(workerData.url);
      const before = native.getAffinity();
      const readBack = native.setAffinity([workerData.target]);
      const after = native.getAffinity();
      const cpu = native.currentCpu();
      const tid = native.threadId();
      const restored = native.setAffinity(before);
      parentPort.postMessage({ before, readBack, after, cpu, tid, restored });
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
  const result = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { url: nativeModuleUrl, tsx: tsxApiUrl, target } });
    w.once('message', (m) => {
      void w.terminate();
      resolve(m as Record<string, unknown>);
    });
    w.once('error', reject);
  });
  assert.is(result.error, undefined, String(result.error));
  assert.equal(result.readBack, [target], 'setAffinity returns the read-back set');
  assert.equal(result.after, [target], 'getAffinity in the worker sees the pin');
  assert.is(result.cpu, target, 'the pinned worker runs on its CPU');
  assert.is.not(result.tid, process.pid, 'the worker has its own thread id');
  assert.equal(result.restored, result.before, 'the worker restored its affinity');
  assert.equal(n.getAffinity(), mainBefore, 'the main thread was not pinned');
});

withNative('TSC clock: calibration in a sane range, tscNow and monotonicNs never go back', (n) => {
  const cal = n.tscCalibrate(50);
  assert.ok(cal.source === 'rdtsc' || cal.source === 'clock_gettime');
  assert.ok(Number.isFinite(cal.ticksPerNs));
  if (cal.source === 'rdtsc') {
    // 0.1 to 10 GHz covers every x86 TSC.
    assert.ok(cal.ticksPerNs > 0.1 && cal.ticksPerNs < 10, `ticksPerNs ${cal.ticksPerNs}`);
    assert.ok(Number.isFinite(cal.driftPpm) && Math.abs(cal.driftPpm) < 1000, `driftPpm ${cal.driftPpm}`);
    assert.ok(cal.uncertaintyPpm >= 0);
    assert.ok(cal.intervalNs > 0);
  }
  assert.equal(n.tscCalibration(), cal);

  let prev = n.tscNow();
  let backwards = 0;
  for (let i = 0; i < 10_000; i++) {
    const t = n.tscNow();
    if (t < prev) backwards++;
    prev = t;
  }
  assert.is(backwards, 0, 'tscNow is monotonic over 10k reads');
  let prevMono = n.monotonicNs();
  let monoBackwards = 0;
  for (let i = 0; i < 10_000; i++) {
    const t = n.monotonicNs();
    if (t < prevMono) monoBackwards++;
    prevMono = t;
  }
  assert.is(monoBackwards, 0, 'monotonicNs is monotonic over 10k reads');
  // Same timeline: the two clocks agree to far better than a second (this is not a timing bound).
  assert.ok(Math.abs(n.tscNow() - n.monotonicNs()) < 1e9);
  assert.ok(Number.isSafeInteger(n.monotonicNs()));
});

withNative('bindMemory returns values, never crashes', (n) => {
  const sab = new SharedArrayBuffer(1 << 20);
  const view = new Uint8Array(sab);
  view.fill(1); // touch the pages so MPOL_MF_MOVE has something to consider
  const t = n.topology();
  const r = n.bindMemory(view, 0);
  if (t.numaNodes === 1) {
    assert.equal(r, { applied: false, reason: 'single NUMA node' });
  } else {
    assert.type(r.applied, 'boolean');
  }
  // force: make the syscall anyway (node 0 is valid on every machine). A sandbox may refuse mbind
  // (EPERM): that must come back as a value too.
  const forced = n.bindMemory(new Uint8Array(sab, 100, 5000), t.nodes[0]!.node, { force: true });
  if (forced.applied) {
    assert.ok(forced.verified, 'get_mempolicy reads back the policy');
    // 5,000 bytes span 2 pages, or 3 when the buffer itself does not start on a page boundary.
    assert.ok(forced.pages === 2 || forced.pages === 3, `pages ${forced.pages}`);
  } else {
    assert.type(forced.reason, 'string');
  }
  const reset = n.bindMemory(view, t.nodes[0]!.node, { force: true, mode: 'default' });
  assert.type(reset.applied, 'boolean');
  const badNode = n.bindMemory(view, 1000, { force: true });
  assert.is(badNode.applied, false);
  const empty = n.bindMemory(new Uint8Array(0), 0, { force: true });
  assert.equal(empty, { applied: false, reason: 'empty view' });
  assert.throws(() => (n.bindMemory as (...a: unknown[]) => unknown)(sab, 0), /bindMemory/);
  assert.throws(() => n.bindMemory(view, 0, { mode: 'nope' as 'bind' }), /mode/);
  assert.is(view[4096], 1, 'the data is untouched');
});

test('listNetworkIrqs parses a /proc fixture: NIC queues and virtio-net, not virtio-rng or disks', () => {
  const root = mkdtempSync(join(os.tmpdir(), 'clob-irq-'));
  try {
    const proc = join(root, 'proc');
    const sys = join(root, 'sys');
    const irqs: [number, string, string][] = [
      [24, 'IO-APIC   5-edge      ACPI:Ged', 'ACPI:Ged'],
      [34, 'PCI-MSIX-0000:00:05.0   1-edge      virtio4-input', 'virtio4-input'],
      [36, 'PCI-MSIX-0000:00:02.0   1-edge      virtio1-req.0', 'virtio1-req.0'],
      [38, 'PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0', 'virtio2-input.0'],
      [39, 'PCI-MSIX-0000:00:03.0   2-edge      virtio2-output.0', 'virtio2-output.0'],
      [90, 'IR-PCI-MSI 524288-edge      mlx5_comp0@pci:0000:3b:00.0', 'mlx5_comp0@pci:0000:3b:00.0'],
      [91, 'IR-PCI-MSI 524289-edge      eth0-TxRx-1', 'eth0-TxRx-1'],
    ];
    const lines = ['           CPU0       CPU1       CPU2       CPU3'];
    for (const [irq, rest, name] of irqs) {
      lines.push(`${String(irq).padStart(4)}:          1          2          3          4  ${rest}`);
      mkdirSync(join(proc, 'irq', String(irq), name), { recursive: true });
      writeFileSync(join(proc, 'irq', String(irq), 'smp_affinity_list'), '0-3\n');
      writeFileSync(join(proc, 'irq', String(irq), 'node'), irq >= 90 ? '1\n' : '-1\n');
    }
    lines.push(' LOC:      16491      16917      1      1   Local timer interrupts');
    writeFileSync(join(proc, 'interrupts'), lines.join('\n') + '\n');
    // sysfs says virtio2 is virtio-net and virtio4 is virtio-rng.
    for (const [dev, drv] of [['virtio2', 'virtio_net'], ['virtio4', 'virtio_rng']] as const) {
      mkdirSync(join(sys, 'bus', 'virtio', 'drivers', drv), { recursive: true });
      mkdirSync(join(sys, 'bus', 'virtio', 'devices', dev), { recursive: true });
      // a relative symlink like the kernel's
      spawnSync('ln', ['-s', `../../drivers/${drv}`, join(sys, 'bus', 'virtio', 'devices', dev, 'driver')]);
    }
    const found = listNetworkIrqs({ procRoot: proc, sysRoot: sys });
    assert.equal(found.map((i) => i.irq), [38, 39, 90, 91]);
    assert.equal(found.map((i) => i.name), ['virtio2-input.0', 'virtio2-output.0', 'mlx5_comp0@pci:0000:3b:00.0', 'eth0-TxRx-1']);
    assert.equal(found[0]!.cpus, [0, 1, 2, 3]);
    assert.equal(found[0]!.counts, [1, 2, 3, 4]);
    assert.is(found[2]!.node, 1);

    // Plan with a NUMA map: CPUs 2,3 on node 1. Matchers 1 and 3: node-1 IRQs go to 2, others to 0,2.
    const plan = planIrqAffinity([1, 3], {
      irqs: found,
      onlineCpus: [0, 1, 2, 3],
      nodeOfCpu: new Map([[0, 0], [1, 0], [2, 1], [3, 1]]),
    });
    assert.ok(plan.canKeepOff);
    assert.equal(plan.housekeepingCpus, [0, 2]);
    assert.equal(plan.entries.map((e) => e.to), [[0, 2], [0, 2], [2], [2]]);
    assert.ok(plan.entries.every((e) => e.change));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('planIrqAffinity on this machine: computed, printed, never applied', () => {
  const irqs = listNetworkIrqs();
  for (const irq of irqs) {
    assert.ok(Number.isInteger(irq.irq));
    assert.type(irq.name, 'string');
    assert.ok(Array.isArray(irq.cpus));
  }
  const online = native ? native.topology().onlineCpus : parseCpuList('0-' + (os.cpus().length - 1));

  const all = planIrqAffinity(online, { irqs, onlineCpus: online });
  assert.is(all.canKeepOff, false, 'every CPU a matcher: cannot keep IRQs off');
  assert.ok(all.entries.every((e) => !e.change && e.to === e.from), 'and leaves them where they are');
  assert.match(all.summary, /cannot be kept off/);

  if (online.length > 1) {
    const matcher = online[online.length - 1]!;
    const plan = planIrqAffinity([matcher], { irqs, onlineCpus: online });
    assert.ok(plan.canKeepOff);
    assert.ok(plan.entries.every((e) => !e.to.includes(matcher) && e.to.length > 0));
    assert.type(formatIrqPlan(plan), 'string');
  }
});

test('parseCpuList reads the kernel format', () => {
  assert.equal(parseCpuList('0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
  assert.equal(parseCpuList(''), []);
});

test.run();
