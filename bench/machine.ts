// What the figures were measured on: printed with every benchmark and stored in its JSON.
import os from 'node:os';

export interface MachineInfo { cpu: string; cores: number; memoryGiB: number; node: string; v8: string; platform: string; loadAverage: number[] }

export function machineInfo(): MachineInfo {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node} (V8 ${m.v8}), ${m.platform}, load ${m.loadAverage.join(' ')}`;
}
