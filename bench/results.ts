import type { SendRun } from './send.ts';
import type { LoadResult } from './subscribe.ts';
import type { SendNowMemory } from './send-now-memory.ts';
import type { RenderResult } from './render-worker.ts';
import type { IngestResult } from './ingest-worker.ts';
import type { StartupResult } from './startup.ts';
import type { IntakeResult } from './intake.ts';
import type { DayResult } from './day.ts';

/** What a bench run measured: what the table's rows (rows.ts, rows-app.ts) are made from. */
export interface Results {
  render?: RenderResult;
  content?: { subjectChars: number; htmlBytes: number; textBytes: number; rawBytes: number };
  send: SendRun[];
  /** Peak RSS of `npm run send-now` as its own process, per memory size. */
  sendNow: SendNowMemory[];
  subscribe: LoadResult[];
  ingest?: IngestResult;
  startup?: StartupResult;
  intake?: IntakeResult;
  /** A day of readers' own mornings (DELIVERY_MODE=local) replayed. */
  day?: DayResult;
  /** os.availableParallelism() of the bench's machine (the default DKIM_WORKERS). */
  cores?: number;
  /** How many distinct digests the many-variants send's preferences rank to. */
  variantLists?: number;
  errors: { section: string; message: string }[];
}
