import type { DigestSize } from '../config.ts';
import type { Cadence } from './cadence.ts';

/** A subscriber as a CSV import plans it and the admin store writes it. */
export interface ImportRow {
  line: number;
  email: string;
  digestSize: DigestSize;
  keywords: string;
  /** Daily when not given. */
  cadence?: Cadence;
  /** The reader's zone (current IANA name) and local hour; null: the list's default. */
  timezone?: string | null;
  deliveryHour?: number | null;
}
