// `clob doctor`: what this machine offers clob, and what is missing and why.
import os from 'node:os';
import { CORE_BUILDS, coreModule } from './core.js';
import { native, nativeLoadError, listNetworkIrqs, planIrqAffinity, formatIrqPlan } from './native.js';

export function doctor(): void {
  const line = (k: string, v: string) => console.log(`${k.padEnd(18)} ${v}`);
  line('node', `${process.version} (V8 ${process.versions.v8}), ${os.platform()} ${os.arch()}`);
  line('cpus', `${os.availableParallelism()} × ${os.cpus()[0]?.model ?? 'unknown'}`);
  for (const build of CORE_BUILDS) {
    try {
      coreModule(build);
      line(`wasm ${build}`, 'ok');
    } catch (e) {
      line(`wasm ${build}`, `MISSING: ${(e as Error).message}`);
    }
  }
  if (!native) {
    line('native helper', `not loaded: ${nativeLoadError}`);
    line('', 'clob runs without it: threads stay unpinned, no NUMA binding, no TSC clock, order entry on node:net');
  } else {
    const topo = native.topology();
    line('native helper', 'loaded');
    line('topology', `${topo.onlineCpus.length} CPUs, ${topo.numaNodes} NUMA node(s), SMT ${topo.smt ? 'on' : 'off'}`);
    for (const c of topo.caches) line(`  L${c.level} ${c.type}`, `${Math.round(c.sizeBytes / 1024)} KiB (${c.source})`);
    line('this thread', `CPU ${native.currentCpu()}, affinity [${native.getAffinity().join(',')}]`);
    const cal = native.tscCalibrate(50);
    line('tsc clock', `${cal.source}: ${cal.ticksPerNs.toFixed(4)} ticks/ns, drift ${cal.driftPpm.toFixed(2)} ppm`);
    const uring = native.uringProbe();
    line('io_uring', uring === undefined ? 'ok: clob start --io auto serves order entry on it' : `unusable (${uring}): clob start --io auto uses node:net`);
  }
  const cpus = os.availableParallelism();
  const matcher = [cpus - 1];
  line('network irqs', `${listNetworkIrqs().length} found`);
  console.log(formatIrqPlan(planIrqAffinity(matcher)).replace(/^/gm, '  '));
  console.log('  (a plan only: clob never changes IRQ affinity unless asked to)');
}
