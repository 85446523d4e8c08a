import { startWorker, type Worker } from './ipc.ts';
import type { SinkReceiver, SinkStats } from './sink-worker.ts';

export type { SinkStats };

/** The parent's handle on the SMTP sink process. */
export interface Sink {
  port: number;
  url: string;
  pid: number;
  reset(opts?: { trackRecipients?: boolean }): Promise<SinkStats>;
  stats(): Promise<SinkStats>;
  waitFor(count: number, timeoutMs: number): Promise<SinkStats>;
  stop(): Promise<void>;
}

/** The sink process; smtp-server unless the figure is about the sender's own cores (sink-worker.ts). */
export async function startSink(receiver: SinkReceiver = 'smtp-server'): Promise<Sink> {
  const worker: Worker = await startWorker(receiver === 'lean' ? 'lean-sink' : 'sink');
  try {
    const { port } = await worker.call<{ port: number }>('listen');
    return {
      port,
      url: `smtp://127.0.0.1:${port}`,
      pid: worker.pid,
      reset: (opts = {}) => worker.call('reset', opts),
      stats: () => worker.call('stats'),
      waitFor: (count, timeoutMs) => worker.call('waitFor', { count, timeoutMs }, timeoutMs + 5_000),
      stop: () => worker.stop(),
    };
  } catch (err) {
    await worker.stop();
    throw err;
  }
}
