import { readFileSync } from 'node:fs';

const MB = 1024 * 1024;

/** Peak resident set of this process so far (VmHWM), in MB; null where /proc is missing. */
export function vmHwmMb(): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export const rssMb = () => process.memoryUsage.rss() / MB;

export interface RssTrace {
  peakMb: number;
  /** Peak RSS in the first and second half of the sampled span: equal when memory is flat. */
  firstHalfPeakMb: number;
  secondHalfPeakMb: number;
  /** [seconds since start, RSS MB, V8 heap used MB], at most ~100 points. */
  samples: [number, number, number][];
}

/** Samples RSS (and the V8 heap) every `everyMs` until stopped. */
export function sampleRss(everyMs = 100): { stop(): RssTrace } {
  const started = performance.now();
  const samples: [number, number, number][] = [];
  const take = () => {
    const m = process.memoryUsage();
    samples.push([(performance.now() - started) / 1000, m.rss / MB, m.heapUsed / MB]);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      const half = samples[samples.length - 1]![0] / 2;
      const peak = (xs: [number, number, number][]) => Math.max(0, ...xs.map((x) => x[1]));
      const step = Math.max(1, Math.ceil(samples.length / 100));
      return {
        peakMb: peak(samples),
        firstHalfPeakMb: peak(samples.filter((x) => x[0] <= half)),
        secondHalfPeakMb: peak(samples.filter((x) => x[0] > half)),
        samples: samples
          .filter((_, i) => i % step === 0 || i === samples.length - 1)
          .map(([t, r, h]) => [Math.round(t * 10) / 10, Math.round(r), Math.round(h)]),
      };
    },
  };
}

/** CPU time (user + system) of this process between two points, ms. */
export function cpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}
