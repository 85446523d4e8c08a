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
}
