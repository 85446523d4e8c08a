import { addDays } from '../domain/dates.ts';
import type { Cadence } from '../model/cadence.ts';

// What an edition is called and where it lives: emails, the web archive and the feed share these.

/** "Top 10 papers of Tue 24 Nov": the subject, preheader and archive title share it. */
export function topLine(count: number, date: string): string {
  return `Top ${count} ${count === 1 ? 'paper' : 'papers'} of ${formatDay(date, 'short')}`;
}

/** An edition's List-Id (RFC 2919): daily and weekly are two lists, which a reader's filter can tell apart. */
export function listIdFor(cadence: Cadence, domain: string): string {
  return `"Paperboy ${cadence} digest" <${cadence}.${domain}>`;
}

/**
 * An edition's Feedback-ID ("daily:2026-11-24:paperboy:papers.example.org"): Gmail Postmaster's
 * feedback loop splits the spam rate by each field, read from the right, so each edition and
 * day gets its own figure under one sender id. The edition is named as in its List-Id.
 */
export function feedbackIdFor(cadence: Cadence, date: string, domain: string): string {
  return `${cadence}:${date}:paperboy:${domain}`;
}

/** Where an edition is in the web archive. */
export function digestUrl(publicUrl: string, date: string, cadence: Cadence): string {
  return cadence === 'weekly' ? `${publicUrl}/digests/weekly/${date}` : `${publicUrl}/digests/${date}`;
}

/**
 * "Week of 23–29 Nov 2026" for the week ending on `weekEnding` ("Week of 30 Nov – 6 Dec 2026",
 * "Week of 29 Dec 2025 – 4 Jan 2026" across a month or a year); `long` spells the months out.
 */
export function weekLine(weekEnding: string, style: 'short' | 'long' = 'short'): string {
  const month = style === 'short' ? 'short' : 'long';
  const part = (date: string, o: Intl.DateTimeFormatOptions) =>
    new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', ...o }).format(new Date(`${date}T00:00:00Z`));
  const first = addDays(weekEnding, -6);
  const [fy, fm] = first.split('-');
  const [ly, lm] = weekEnding.split('-');
  const end = part(weekEnding, { day: 'numeric', month, year: 'numeric' });
  const start =
    fy !== ly
      ? part(first, { day: 'numeric', month, year: 'numeric' })
      : fm !== lm
        ? part(first, { day: 'numeric', month })
        : part(first, { day: 'numeric' });
  return `Week of ${start}${fm === lm && fy === ly ? '–' : ' – '}${end}`;
}

/** "Tue 24 Nov" or "Tuesday, 24 November 2026"; the digest date is a calendar day, so UTC. */
export function formatDay(date: string, style: 'short' | 'long'): string {
  const options: Intl.DateTimeFormatOptions =
    style === 'short'
      ? { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short' }
      : { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' };
  return new Intl.DateTimeFormat('en-GB', options).format(new Date(`${date}T00:00:00Z`));
}
