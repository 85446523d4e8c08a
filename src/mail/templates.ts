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
import { joinPieces, RANK_PLACEHOLDER, splitAtRank, splitCard, type CardPiece } from './digest-pieces.ts';
import { compiledTemplates, type Anchors, type CompiledTemplates } from './template-cache.ts';
import { compileMjml, endMjmlThread } from './mjml-compiler.ts';
import { fill, fillLinks, learnAnchors, link, linkToPlaceholder, TemplateError, withProbes } from './placeholders.ts';
import { readTemplate } from './template-files.ts';

export { TemplateError };

export interface Rendered {
  subject: string;
  html: string;
  text: string;
}
export interface TemplateSettings {
  publicUrl: string;
  postalAddress: string;
  /** Where the compiled templates are kept between starts (template-cache.ts); none: compiled at every start. */
  cacheDir?: string;
}
export interface SubscriberLinks {
  preferencesUrl: string;
  unsubscribeUrl: string;
}

/** A digest built once for a variant; html/text still hold {{unsubscribe_url}} and {{preferences_url}}. */
export interface CompiledDigest {
  date: string;
  subject: string;
  html: string;
  text: string;
}
/** A digest to build: the daily one of `date`, or the weekly one of the week ending on `date`. */
export interface DigestContent {
  date: string;
  papers: Paper[];
  cadence?: Cadence;
}

/**
 * The emails, filled into templates MJML compiled once (at the first start after they changed, see
 * template-cache.ts): every call below is string filling, no MJML.
 */
export interface Templates {
  confirm(d: { confirmUrl: string; preferencesUrl?: string }): Rendered;
  /** To a confirmed address that was signed up again, with its own links. */
  alreadySubscribed(d: SubscriberLinks): Rendered;
  /** One digest: previews, test copies, the archive's pages. Then `personalise` per recipient. */
  compileDigest(d: DigestContent): Promise<CompiledDigest>;
  /**
   * The digests of one edition, as a send builds its variants: each paper's card is filled once
   * (every variant of a run is ranked from the same frozen list of Paper objects), every variant
   * is string splicing (see digest-pieces.ts).
   */
  digestAssembler(date: string, cadence?: Cadence): (papers: Paper[]) => Promise<CompiledDigest>;
  /** The same digest compiled by MJML from its filled source (slow): what the others are checked against. */
  referenceDigest(d: DigestContent): Promise<CompiledDigest>;
}

/** An empty digest is nothing to send; callers must check before compiling. */
export class EmptyDigestError extends Invalid {}

export const templatesDir = fileURLToPath(new URL('../../templates/', import.meta.url));

/**
 * Reads every template and compiles each with its placeholders in place, then fills them: MJML
 * copies the text of mj-text, mj-title and the attributes of mj-button verbatim, so filling after
 * compiling gives what compiling the filled source gives. That is checked, byte for byte, for
 * every email and two sample digests whenever the templates are compiled (strict validation),
 * so a broken template fails the boot instead of the 7 a.m. send. They are compiled once per
 * change: the compiled set is kept in `settings.cacheDir` (template-cache.ts).
 */
export async function loadTemplates(
  settings: TemplateSettings,
  dir: string = templatesDir,
  mjml: (source: string) => Promise<string> = compileMjml,
): Promise<Templates> {
  const publicUrl = ownUrl(settings.publicUrl).replace(/\/+$/, '');
  const site = new URL(publicUrl).host;
  const [digestSource, paperSource, confirmSource, alreadySource] = await Promise.all([
    readTemplate(dir, 'digest.mjml'),
    readTemplate(dir, 'partials/paper.mjml'),
    readTemplate(dir, 'confirm.mjml'),
    readTemplate(dir, 'already-subscribed.mjml'),
  ]);
  const compile = async (name: string, source: string) => {
    try {
      return await mjml(source);
    } catch (err) {
      throw new TemplateError(`${name} does not compile: ${(err as Error).message}`, { cause: err });
    }
  };
  const footerValues = (reason: string, links: string) => ({
    reason,
    links,
    postal: escapeHtml(settings.postalAddress),
  });

  /** The shell's values for an edition, besides the three that vary with the list. */
  const editionValues = (date: string, cadence: Cadence, a: Anchors) => ({
    // The weekly edition is the daily one with another heading: the same cards, footer and text.
    heading: escapeHtml(cadence === 'weekly' ? weekLine(date, 'long') : formatDay(date, 'long')),
    ...footerValues(
      `You get this email because you subscribed to the Paperboy ${cadence} digest at ${link(`${publicUrl}/`, site, a.reason)}.`,
      [
        link(digestUrl(publicUrl, date, cadence), 'View in browser', a.links),
        linkToPlaceholder('preferences_url', 'Preferences', a.links),
        linkToPlaceholder('unsubscribe_url', 'Unsubscribe', a.links),
      ].join(' · '),
    ),
  });
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
  const confirmValues = (withPreferences: boolean, a: Anchors) => ({
    title: escapeHtml(CONFIRM_SUBJECT),
    preheader: escapeHtml('One click and your digest of trending ML papers starts.'),
    heading: escapeHtml('Confirm your subscription'),
    intro: escapeHtml('One step left before your first digest.'),
    ...footerValues(
      `You get this email because someone asked to subscribe this address at ${link(`${publicUrl}/`, site, a.reason)}.`,
      withPreferences ? linkToPlaceholder('preferences_url', 'Preferences', a.links) : '',
    ),
  });
  const alreadyValues = (a: Anchors) => ({
    title: escapeHtml(ALREADY_SUBJECT),
    preheader: escapeHtml('Nothing changed: your preferences and unsubscribe links are inside.'),
    heading: escapeHtml('You’re already subscribed'),
    intro: escapeHtml('Your digest keeps coming as it is.'),
    ...footerValues(
      `You get this email because someone asked to subscribe this address at ${link(`${publicUrl}/`, site, a.reason)}, which already gets the digest.`,
      [
        linkToPlaceholder('preferences_url', 'Preferences', a.links),
        linkToPlaceholder('unsubscribe_url', 'Unsubscribe', a.links),
      ].join(' · '),
    ),
  });

  const referenceDigest = async ({ date, papers, cadence = 'daily' }: DigestContent): Promise<CompiledDigest> => {
    checkDate(date);
    const v = variant(date, papers, cadence);
    // MJML's CSS inlining gives the links their attributes itself.
    const cards = papers.map((p, i) => fill('partials/paper.mjml', paperSource, paperValues(p, String(i + 1), {})));
    const source = fill('digest.mjml', digestSource, {
      ...v.shell,
      ...editionValues(date, cadence, {}),
      papers: cards.join('\n'),
    });
    return { date, subject: v.subject, html: await compile('digest.mjml', source), text: v.text };
  };

  /** The compiled templates, placeholders and all; the digest cut around its one card. */
  const build = async (): Promise<CompiledTemplates> => {
    const [digest, confirm, already] = await Promise.all([
      compile('digest.mjml', withProbes(digestSource.replace('{{papers}}', () => paperSource))),
      compile('confirm.mjml', withProbes(confirmSource)),
      compile('already-subscribed.mjml', withProbes(alreadySource)),
    ]);
    const page = splitCard(digest);
    if (!page)
      throw new TemplateError('partials/paper.mjml: a card must be exactly one <mj-section> with #{{rank}} in it once');
    const head = learnAnchors(page.head);
    const tail = learnAnchors(page.tail);
    return {
      shell: { head: head.html, tail: tail.html, anchors: { ...head.anchors, ...tail.anchors } },
      card: learnAnchors(page.card),
      confirm: learnAnchors(confirm),
      already: learnAnchors(already),
    };
  };

  /** The emails filled into compiled templates. */
  const filled = (compiled: CompiledTemplates): Templates => {
    const { shell, card } = compiled;
    const cardOf = (p: Paper) => {
      const piece = splitAtRank(fill('partials/paper.mjml', card.html, paperValues(p, RANK_PLACEHOLDER, card.anchors)));
      // The compiled card has one {{rank}} and every value is escaped, so a paper cannot add one.
      if (!piece) throw new TemplateError('partials/paper.mjml: a card must hold #{{rank}} once');
      return piece;
    };
    const digestAssembler = (date: string, cadence: Cadence = 'daily') => {
      checkDate(date);
      const edition = editionValues(date, cadence, shell.anchors);
      // A run ranks every variant from the same frozen list of objects: a paper's card is filled once.
      const cards = new Map<Paper, CardPiece>();
      return async (papers: Paper[]): Promise<CompiledDigest> => {
        const v = variant(date, papers, cadence);
        const values = { ...v.shell, ...edition };
        const pieces = papers.map((p) => cards.get(p) ?? cards.set(p, cardOf(p)).get(p)!);
        const html = joinPieces(
          fill('digest.mjml', shell.head, values),
          pieces,
          fill('digest.mjml', shell.tail, values),
        );
        return { date, subject: v.subject, html, text: v.text };
      };
    };
    const confirmHtml = (withPreferences: boolean) =>
      fill('confirm.mjml', compiled.confirm.html, confirmValues(withPreferences, compiled.confirm.anchors));
    const confirmWithPreferences = confirmHtml(true);
    const confirmPlain = confirmHtml(false);
    const already = fill('already-subscribed.mjml', compiled.already.html, alreadyValues(compiled.already.anchors));
    return {
      confirm({ confirmUrl, preferencesUrl }: { confirmUrl: string; preferencesUrl?: string }): Rendered {
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
      alreadySubscribed(links: SubscriberLinks): Rendered {
        const values = { preferences_url: ownUrl(links.preferencesUrl), unsubscribe_url: ownUrl(links.unsubscribeUrl) };
        return {
          subject: ALREADY_SUBJECT,
          html: fillLinks(already, values, escapeHtml),
          text: alreadyText(values, publicUrl, settings.postalAddress),
        };
      },
      compileDigest: ({ date, papers, cadence = 'daily' }: DigestContent) => digestAssembler(date, cadence)(papers),
      digestAssembler,
      referenceDigest,
    };
  };

  /** After a fresh compile: each email filled in must be MJML's own compile of its filled source. */
  const check = async (t: Templates) => {
    const differs = (file: string) =>
      new TemplateError(
        `${file}: a placeholder sits where MJML changes text; put it in mj-text, mj-title or an mj-button href`,
      );
    const links = {
      confirmUrl: `${publicUrl}/c?t=1&u=2`,
      preferencesUrl: `${publicUrl}/p`,
      unsubscribeUrl: `${publicUrl}/u`,
    };
    const direct = async (file: string, source: string, values: Record<string, string>) =>
      fillLinks(
        await compile(file, fill(file, source, values)),
        { confirm_url: links.confirmUrl, preferences_url: links.preferencesUrl, unsubscribe_url: links.unsubscribeUrl },
        escapeHtml,
      );
    const [confirmWith, confirmWithout, already] = await Promise.all([
      direct('confirm.mjml', confirmSource, confirmValues(true, {})),
      direct('confirm.mjml', confirmSource, confirmValues(false, {})),
      direct('already-subscribed.mjml', alreadySource, alreadyValues({})),
    ]);
    if (t.confirm(links).html !== confirmWith || t.confirm({ confirmUrl: links.confirmUrl }).html !== confirmWithout)
      throw differs('confirm.mjml');
    if (t.alreadySubscribed(links).html !== already) throw differs('already-subscribed.mjml');
    const sample = [samplePaper, { ...samplePaper, id: '2601.00002', githubRepo: null, authors: [] }];
    for (const d of [
      { date: '2026-01-06', papers: sample },
      { date: '2026-01-04', papers: [samplePaper], cadence: 'weekly' as const },
    ]) {
      const [reference, assembled] = await Promise.all([t.referenceDigest(d), t.compileDigest(d)]);
      if (assembled.html !== reference.html) throw differs('digest.mjml');
    }
  };

  const compiled = await compiledTemplates(
    [digestSource, paperSource, confirmSource, alreadySource],
    settings.cacheDir,
    async () => {
      const built = await build();
      await check(filled(built));
      // Nothing else compiles: a send that compiled its templates first does not keep MJML while it sends.
      await endMjmlThread();
      return built;
    },
  );
  return filled(compiled);
}

/** Fills one recipient's links into a compiled digest: a string substitution, no MJML. */
export function personalise(d: CompiledDigest, links: { unsubscribeUrl: string; preferencesUrl: string }): Rendered {
  const values = { unsubscribe_url: ownUrl(links.unsubscribeUrl), preferences_url: ownUrl(links.preferencesUrl) };
  return { subject: d.subject, html: fillLinks(d.html, values, escapeHtml), text: fillLinks(d.text, values, (s) => s) };
}

const CONFIRM_SUBJECT = 'Paperboy · Confirm your subscription';
const ALREADY_SUBJECT = 'Paperboy · You’re already subscribed';

function paperValues(p: Paper, rank: string, a: Anchors): Record<string, string> {
  const links = paperLinks(p)
    .filter((l) => l.label !== 'Paper')
    .map((l) => link(l.url, l.label, a.links))
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
