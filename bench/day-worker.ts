import type { Handlers } from './ipc.ts';
import { replayDay, type DayResult } from './day.ts';

/** The day replay in a process of its own: the product's scheduler and sender, as the service runs them. */
export function dayHandlers(): Handlers {
  return {
    measure: (p: { readers: number; dir: string }): Promise<DayResult> => replayDay(p.readers, p.dir),
  };
}
