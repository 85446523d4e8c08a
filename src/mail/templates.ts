import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { paperPageUrl, type Paper } from '../domain/paper.ts';
import { Invalid } from '../errors.ts';
import { escapeHtml } from '../html.ts';
import {
  alreadyText,
  authorsLine,
  blurb,
  confirmText,
  digestText,
  oneLine,
  paperLinks,
  statsLine,
} from './paper-text.ts';
import type { Cadence } from '../domain/subscriber-input.ts';
import { digestUrl, formatDay, topLine, weekLine } from './edition-names.ts';
import { cardAssembler, RANK_PLACEHOLDER, splitCards } from './digest-pieces.ts';
import { compileMjml } from './mjml-compiler.ts';

export interface Rendered {
  subject: string;
  html: string;
  text: string;
}
export interface TemplateSettings {
  publicUrl: string;
  postalAddress: string;
}
export interface SubscriberLinks {
  preferencesUrl: string;
  unsubscribeUrl: string;
}

/** A digest compiled once for a variant; html/text still hold {{unsubscribe_url}} and {{preferences_url}}. */
export interface CompiledDigest {
  date: string;
  subject: string;
  html: string;
  text: string;
}
/** A digest to compile: the daily one of `date`, or the weekly one of the week ending on `date`. */
export interface DigestContent {
  date: string;
  papers: Paper[];
  cadence?: Cadence;
}

export interface Templates {
  /** Cheap: the MJML was compiled at load time, only the links are filled in. */
  confirm(d: { confirmUrl: string; preferencesUrl?: string }): Rendered;
  /** Cheap too: to a confirmed address that was signed up again, with its own links. */
  alreadySubscribed(d: SubscriberLinks): Rendered;
  /** Compiles MJML (~10–20 ms, blocking): call once per digest variant, then `personalise` per recipient. */
  compileDigest(d: DigestContent): Promise<CompiledDigest>;
  /**
   * The same digests for one edition, assembled from pieces compiled once (see digest-pieces.ts):
   * the first call for a paper compiles its card, every other variant is string splicing. For a
   * run's frozen list (`runPapers`, whose Paper objects every variant shares): its cards are
   * compiled ahead in batches.
   */
  digestAssembler(
    date: string,
    runPapers?: readonly Paper[],
    cadence?: Cadence,
  ): (papers: Paper[]) => Promise<CompiledDigest>;
}

/** A template that does not compile: thrown by loadTemplates so a broken template fails the boot. */
export class TemplateError extends Error {}
/** An empty digest is nothing to send; callers must check before compiling. */
export class EmptyDigestError extends Invalid {}

export const templatesDir = fileURLToPath(new URL('../../templates/', import.meta.url));

/** Placeholders filled per recipient, after compilation: they must survive template filling. */
const LATE_PLACEHOLDERS = new Set(['unsubscribe_url', 'preferences_url', 'confirm_url']);

/**
 * Reads every template and compiles each once with sample data and strict validation, so a broken
 * template fails the boot instead of the 7 a.m. send.
 */
export async function loadTemplates(settings: TemplateSettings, dir: string = templatesDir): Promise<Templates> {
  const publicUrl = ownUrl(settings.publicUrl).replace(/\/+$/, '');
  const site = new URL(publicUrl).host;
  const [digestSource, paperSource, confirmSource, alreadySource] = await Promise.all([
    readTemplate(dir, 'digest.mjml'),
    readTemplate(dir, 'partials/paper.mjml'),
    readTemplate(dir, 'confirm.mjml'),
    readTemplate(dir, 'already-subscribed.mjml'),
  ]);
  const footerValues = (reason: string, links: string) => ({
    reason,
    links,
    postal: escapeHtml(settings.postalAddress),
  });

  /** The digest's MJML for an edition: the shell values that vary with the list, and the cards. */
  const digestDocument = (
    date: string,
    cadence: Cadence,
    shell: Record<'title' | 'preheader' | 'intro', string>,
    cards: string,
  ) =>
    fill('digest.mjml', digestSource, {
      ...shell,
      // The weekly edition is the daily one with another heading: the same cards, footer and text.
      heading: escapeHtml(cadence === 'weekly' ? weekLine(date, 'long') : formatDay(date, 'long')),
      papers: cards,
      ...footerValues(
        `You get this email because you subscribed to the Paperboy ${cadence} digest at ${link(`${publicUrl}/`, site)}.`,
        [
          link(digestUrl(publicUrl, date, cadence), 'View in browser'),
          linkToPlaceholder('preferences_url', 'Preferences'),
          linkToPlaceholder('unsubscribe_url', 'Unsubscribe'),
        ].join(' · '),
      ),
    });
  const cardsOf = (papers: Paper[], rank: (i: number) => string) =>
    papers.map((p, i) => fill('partials/paper.mjml', paperSource, paperValues(p, rank(i)))).join('\n');
  /** What depends on the list besides its cards: the subject, the shell's values, the text part. */
  const variant = (date: string, papers: Paper[], cadence: Cadence) => {
    if (papers.length === 0) throw new EmptyDigestError(`no papers for the digest of ${date}`);
    const weekly = cadence === 'weekly';
    const line = weekly ? weekLine(date) : topLine(papers.length, date);
    const subject = `Paperboy · ${line}`;
    const heading = weekly ? weekLine(date, 'long') : formatDay(date, 'long');
    const shell = {
      title: escapeHtml(subject),
      preheader: escapeHtml(`${line} — #1: ${oneLine(papers[0]!.title)}`),
      intro: escapeHtml(
        `The ${papers.length} most upvoted ${papers.length === 1 ? 'paper' : 'papers'} on Hugging Face Daily Papers${weekly ? ' this week' : ''}.`,
      ),
    };
    const text = digestText({
      subject,
      heading,
      cadence,
      papers,
      browserUrl: digestUrl(publicUrl, date, cadence),
      publicUrl,
      postal: settings.postalAddress,
    });
    return { subject, shell, text };
  };

  const compileDigest = async ({ date, papers, cadence = 'daily' }: DigestContent): Promise<CompiledDigest> => {
    checkDate(date);
    const v = variant(date, papers, cadence);
    const html = await compile(
      'digest.mjml',
      digestDocument(
        date,
        cadence,
        v.shell,
        cardsOf(papers, (i) => String(i + 1)),
      ),
    );
    return { date, subject: v.subject, html, text: v.text };
  };

  const digestAssembler = (date: string, runPapers: readonly Paper[] = [], cadence: Cadence = 'daily') => {
    checkDate(date);
    const late = { title: '{{title}}', preheader: '{{preheader}}', intro: '{{intro}}' };
    const assemble = cardAssembler(async (papers) => {
      const html = await compile(
        'digest.mjml',
        digestDocument(
          date,
          cadence,
          late,
          cardsOf(papers, () => RANK_PLACEHOLDER),
        ),
      );
      const page = splitCards(html, papers.length);
      if (!page)
        throw new TemplateError(
          'partials/paper.mjml: a card must be exactly one <mj-section> with #{{rank}} in it once',
        );
      return page;
    }, runPapers);
    return async (papers: Paper[]): Promise<CompiledDigest> => {
      const v = variant(date, papers, cadence);
      return {
        date,
        subject: v.subject,
        html: await assemble(papers, (part) => fillLinks(part, v.shell, (s) => s)),
        text: v.text,
      };
    };
  };

  const confirmHtml = async (withPreferences: boolean) =>
    compile(
      'confirm.mjml',
      fill('confirm.mjml', confirmSource, {
        title: escapeHtml(CONFIRM_SUBJECT),
        preheader: escapeHtml('One click and your digest of trending ML papers starts.'),
        heading: escapeHtml('Confirm your subscription'),
        intro: escapeHtml('One step left before your first digest.'),
        ...footerValues(
          `You get this email because someone asked to subscribe this address at ${link(`${publicUrl}/`, site)}.`,
          withPreferences ? linkToPlaceholder('preferences_url', 'Preferences') : '',
        ),
      }),
    );
  const alreadyHtml = compile(
    'already-subscribed.mjml',
    fill('already-subscribed.mjml', alreadySource, {
      title: escapeHtml(ALREADY_SUBJECT),
      preheader: escapeHtml('Nothing changed: your preferences and unsubscribe links are inside.'),
      heading: escapeHtml('You’re already subscribed'),
      intro: escapeHtml('Your digest keeps coming as it is.'),
      ...footerValues(
        `You get this email because someone asked to subscribe this address at ${link(`${publicUrl}/`, site)}, which already gets the digest.`,
        [linkToPlaceholder('preferences_url', 'Preferences'), linkToPlaceholder('unsubscribe_url', 'Unsubscribe')].join(
          ' · ',
        ),
      ),
    }),
  );
  // Every transactional email and a sample digest are compiled now: this is the strict start-up check.
  const [confirmWithPreferences, confirmPlain, already] = await Promise.all([
    confirmHtml(true),
    confirmHtml(false),
    alreadyHtml,
  ]);
  // The assembled digest must be the compiled one, byte for byte, or the send would differ from the preview.
  const sample = [samplePaper, { ...samplePaper, id: '2601.00002', githubRepo: null, authors: [] }];
  const [direct, assembled] = await Promise.all([
    compileDigest({ date: '2026-01-06', papers: sample }),
    digestAssembler('2026-01-06')(sample),
  ]);
  if (assembled.html !== direct.html)
    throw new TemplateError('digest.mjml: a digest assembled from compiled cards differs from its direct compile');
  await compileDigest({ date: '2026-01-04', papers: [samplePaper], cadence: 'weekly' });

  return {
    confirm({ confirmUrl, preferencesUrl }) {
      const confirm = ownUrl(confirmUrl);
      const preferences = preferencesUrl === undefined ? undefined : ownUrl(preferencesUrl);
      const html = fillLinks(
        preferences === undefined ? confirmPlain : confirmWithPreferences,
        { confirm_url: confirm, preferences_url: preferences ?? '' },
        escapeHtml,
      );
      return {
        subject: CONFIRM_SUBJECT,
        html,
        text: confirmText(confirm, preferences, publicUrl, settings.postalAddress),
      };
    },
    alreadySubscribed(links) {
      const values = { preferences_url: ownUrl(links.preferencesUrl), unsubscribe_url: ownUrl(links.unsubscribeUrl) };
      return {
        subject: ALREADY_SUBJECT,
        html: fillLinks(already, values, escapeHtml),
        text: alreadyText(values, publicUrl, settings.postalAddress),
      };
    },
    compileDigest,
    digestAssembler,
  };
}

/** Fills one recipient's links into a compiled digest: a string substitution, no MJML. */
export function personalise(d: CompiledDigest, links: { unsubscribeUrl: string; preferencesUrl: string }): Rendered {
  const values = { unsubscribe_url: ownUrl(links.unsubscribeUrl), preferences_url: ownUrl(links.preferencesUrl) };
  return { subject: d.subject, html: fillLinks(d.html, values, escapeHtml), text: fillLinks(d.text, values, (s) => s) };
}

/**
 * Escapes text for HTML content and attributes. MJML copies the content of mj-text and the
 * attributes of mj-button verbatim, so this is the only thing between a paper title and markup.
 * `{` is escaped too, so a title can never smuggle in a placeholder that personalise would fill.
 */

const CONFIRM_SUBJECT = 'Paperboy · Confirm your subscription';
const ALREADY_SUBJECT = 'Paperboy · You’re already subscribed';

function paperValues(p: Paper, rank: string): Record<string, string> {
  const links = paperLinks(p)
    .filter((l) => l.label !== 'Paper')
    .map((l) => link(l.url, l.label))
    .join(' · ');
  return {
    rank,
    meta: escapeHtml(statsLine(p)),
    paper_url: escapeHtml(paperPageUrl(p.id)),
    title: escapeHtml(oneLine(p.title)),
    authors: escapeHtml(authorsLine(p.authors)),
    abstract: escapeHtml(blurb(p)),
    links,
  };
}

const link = (url: string, label: string) => `<a href="${escapeHtml(url)}">${escapeHtml(label)}</a>`;
const linkToPlaceholder = (name: string, label: string) => `<a href="{{${name}}}">${escapeHtml(label)}</a>`;
const isIsoDate = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));
function checkDate(date: string): void {
  if (!isIsoDate(date)) throw new Invalid(`digest date must be YYYY-MM-DD, got ${JSON.stringify(date)}`);
}

/** Our own links (confirm, preferences, unsubscribe) follow PUBLIC_URL, which is http on a dev box. */
function ownUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Invalid(`not an absolute URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new Invalid(`not an http(s) URL: ${JSON.stringify(raw)}`);
  return url.href;
}

/** Fills {{name}} placeholders with trusted, already escaped values; unknown names are template bugs. */
function fill(name: string, source: string, values: Record<string, string>): string {
  return source.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => {
    if (key in values) return values[key]!;
    if (LATE_PLACEHOLDERS.has(key)) return whole;
    throw new TemplateError(`${name}: unknown placeholder ${whole}`);
  });
}

function fillLinks(s: string, values: Record<string, string>, encode: (v: string) => string): string {
  return s.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => (key in values ? encode(values[key]!) : whole));
}

/**
 * Reads a template and inlines its <mj-include>s itself: MJML's own include would read the partial
 * at compile time, after placeholders are filled, so the partials' placeholders would stay empty.
 */
async function readTemplate(dir: string, file: string): Promise<string> {
  const source = await readInside(dir, file);
  const includes = [...source.matchAll(/<mj-include\s+path="([^"]+)"\s*\/>/g)];
  const partials = await Promise.all(includes.map((m) => readInside(dir, m[1]!)));
  let i = 0;
  const inlined = source.replace(/<mj-include\s+path="([^"]+)"\s*\/>/g, () => partials[i++]!);
  if (inlined.includes('<mj-include'))
    throw new TemplateError(`${file}: write includes as <mj-include path="./partials/name.mjml" />`);
  return inlined;
}

async function readInside(dir: string, file: string): Promise<string> {
  const path = resolve(dir, file);
  const rel = relative(resolve(dir), path);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new TemplateError(`${file}: outside the templates folder`);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new TemplateError(`cannot read template ${file}: ${(err as Error).message}`, { cause: err });
  }
}

async function compile(name: string, mjml: string): Promise<string> {
  try {
    return await compileMjml(mjml);
  } catch (err) {
    throw new TemplateError(`${name} does not compile: ${(err as Error).message}`, { cause: err });
  }
}

/** Exercises every part of the card (all links, et al., long abstract) in the start-up check. */
const samplePaper: Paper = {
  id: '2601.00001',
  title: 'A sample paper with <markup> & "quotes"',
  abstract: 'A sample abstract. '.repeat(30),
  authors: ['Ada Lovelace', 'Alan Turing', 'Grace Hopper', 'Edsger Dijkstra'],
  publishedAt: '2026-01-05T00:00:00.000Z',
  featuredDate: '2026-01-06',
  upvotes: 1,
  numComments: 2,
  aiSummary: null,
  keywords: [],
  githubRepo: 'https://github.com/example/sample',
  projectPage: 'https://example.org/sample',
  withdrawn: false,
};
