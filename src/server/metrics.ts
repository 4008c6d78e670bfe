// The metrics endpoint of `clob start`: Prometheus text exposition (version 0.0.4) over HTTP.
//
//   GET /metrics   every counter and gauge below, read when scraped (nothing is kept per request)
//   GET /healthz   200 {"status":"ok",...} while serving, 503 once stopping or after a journal failure
//
// The values are read from the parts that already count them (gateway.stats, the journal's seqs,
// the engine); the server adds what only it sees (snapshots, commit latency). Process metrics come
// from Node itself: event-loop delay (perf_hooks), GC pauses (a PerformanceObserver), memory.
// Written by hand rather than with prom-client: the format is a few lines of text, and a scrape
// must not allocate a registry per metric on the server's one thread.
import { createServer, type Server } from 'node:http';
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import { build as buildHistogram } from 'hdr-histogram-js';

/** One exposed value: a counter only goes up (since start), a gauge is the value now, a summary is quantiles with a sum and a count. */
export interface Metric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'summary';
  /** One value, or one value per label set (e.g. { quantile: '0.99' }). */
  value: number | { labels: Record<string, string>; value: number }[];
  /** Summaries: the sum and count of all observations. */
  sum?: number;
  count?: number;
}

/** Renders metrics in the Prometheus text format. */
export function renderMetrics(metrics: readonly Metric[]): string {
  let out = '';
  for (const m of metrics) {
    out += `# HELP ${m.name} ${m.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${m.name} ${m.type}\n`;
    if (typeof m.value === 'number') out += `${m.name} ${formatValue(m.value)}\n`;
    else {
      for (const v of m.value) {
        const labels = Object.entries(v.labels).map(([k, x]) => `${k}="${x.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
        out += `${m.name}{${labels}} ${formatValue(v.value)}\n`;
      }
    }
    if (m.type === 'summary') out += `${m.name}_sum ${formatValue(m.sum ?? 0)}\n${m.name}_count ${formatValue(m.count ?? 0)}\n`;
  }
  return out;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Node's own health: event-loop delay and GC pauses since start. Call `close()` to stop observing. */
export class ProcessMetrics {
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly gc: PerformanceObserver;
  private gcCount = 0;
  private gcSeconds = 0;
  private readonly startedAt = Date.now();

  constructor() {
    this.loop.enable();
    this.gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        this.gcCount++;
        this.gcSeconds += e.duration / 1000;
      }
    });
    this.gc.observe({ entryTypes: ['gc'] });
  }

  metrics(): Metric[] {
    const mem = process.memoryUsage();
    const q = (p: number) => this.loop.percentile(p) / 1e9;
    return [
      { name: 'clob_process_uptime_seconds', help: 'Seconds since the server started.', type: 'gauge', value: (Date.now() - this.startedAt) / 1000 },
      { name: 'clob_process_resident_bytes', help: 'Resident set size.', type: 'gauge', value: mem.rss },
      { name: 'clob_process_heap_used_bytes', help: 'V8 heap in use.', type: 'gauge', value: mem.heapUsed },
      { name: 'clob_process_gc_total', help: 'Garbage collections since start.', type: 'counter', value: this.gcCount },
      { name: 'clob_process_gc_seconds_total', help: 'Time spent in garbage collection pauses.', type: 'counter', value: this.gcSeconds },
      {
        name: 'clob_event_loop_delay_seconds', help: 'Event-loop delay since start (how late timers ran): every batch, read and write waits behind it.', type: 'gauge',
        value: this.loop.count === 0 ? [] : [50, 99, 99.9].map((p) => ({ labels: { quantile: String(p / 100) }, value: q(p) })).concat([{ labels: { quantile: '1' }, value: this.loop.max / 1e9 }]),
      },
    ];
  }

  close(): void {
    this.loop.disable();
    this.gc.disconnect();
  }
}

/** Durations observed since start (HDR histogram, microsecond resolution up to an hour), exposed as a summary in seconds. */
export class LatencySummary {
  private readonly hist = buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  private sumUs = 0;

  constructor(readonly name: string, readonly help: string) {}

  /** One duration in milliseconds (performance.now() differences). */
  observeMs(ms: number): void {
    const us = Math.max(1, Math.min(3_600_000_000, Math.round(ms * 1000)));
    this.hist.recordValue(us);
    this.sumUs += us;
  }

  metric(): Metric {
    const count = this.hist.totalCount;
    return {
      name: this.name, help: this.help, type: 'summary', sum: this.sumUs / 1e6, count,
      value: count === 0 ? [] : [0.5, 0.99, 0.999, 1].map((q) => ({ labels: { quantile: String(q) }, value: this.hist.getValueAtPercentile(q * 100) / 1e6 })),
    };
  }
}

export interface MetricsEndpoint {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `collect()` on GET /metrics and `health()` on GET /healthz at host:port (0: any free
 * port). Anything else is a 404 naming the two paths; a collector that throws is a 500 with the
 * message, never a crash of the server.
 */
export function serveMetrics(host: string, port: number, collect: () => readonly Metric[], health: () => { ok: boolean; detail: Record<string, unknown> }): Promise<MetricsEndpoint> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET /metrics and GET /healthz\n');
      return;
    }
    try {
      if (path === '/metrics') {
        const body = renderMetrics(collect()); // before the head: a collector that throws is a 500
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
      } else if (path === '/healthz') {
        const h = health();
        res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify({ status: h.ok ? 'ok' : 'unavailable', ...h.detail })}\n`);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path} (try /metrics or /healthz)\n`);
      }
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(e as Error).message}\n`);
    }
  });
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : port,
        close: () => new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    });
  });
}
