import { fileURLToPath } from 'node:url';
import { paperPageUrl, type Paper } from '../model/paper.ts';
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
import type { Cadence } from '../model/cadence.ts';
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
interface SubscriberLinks {
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
  const values = new EmailValues(settings);
  const sources = await readSources(dir);
  const compile = compilerOf(mjml);
  const referenceDigest = referenceDigester(sources, values, compile);
  const compiled = await compiledTemplates(
    [sources.digest, sources.paper, sources.confirm, sources.already],
    settings.cacheDir,
    async () => {
      const built = await buildTemplates(sources, compile);
      await checkTemplates(fillTemplates(built, values, referenceDigest), sources, values, compile);
      // Nothing else compiles: a send that compiled its templates first does not keep MJML while it sends.
      await endMjmlThread();
      return built;
    },
  );
  return fillTemplates(compiled, values, referenceDigest);
}

/** The MJML sources of the templates. */
interface Sources {
  digest: string;
  paper: string;
  confirm: string;
  already: string;
}

async function readSources(dir: string): Promise<Sources> {
  const [digest, paper, confirm, already] = await Promise.all([
    readTemplate(dir, 'digest.mjml'),
    readTemplate(dir, 'partials/paper.mjml'),
    readTemplate(dir, 'confirm.mjml'),
    readTemplate(dir, 'already-subscribed.mjml'),
  ]);
  return { digest, paper, confirm, already };
}

type Compile = (name: string, source: string) => Promise<string>;

/** MJML, its failures named after the template. */
function compilerOf(mjml: (source: string) => Promise<string>): Compile {
  return async (name, source) => {
    try {
      return await mjml(source);
    } catch (err) {
      throw new TemplateError(`${name} does not compile: ${(err as Error).message}`, { cause: err });
    }
  };
}

/** The values the templates' placeholders take, besides the papers' cards and the recipient's links. */
class EmailValues {
  readonly publicUrl: string;
  readonly postalAddress: string;
  private site: string;

  constructor(settings: TemplateSettings) {
    this.publicUrl = ownUrl(settings.publicUrl).replace(/\/+$/, '');
    this.postalAddress = settings.postalAddress;
    this.site = new URL(this.publicUrl).host;
  }

  /** The shell's values for an edition, besides the three that vary with the list. */
  edition(date: string, cadence: Cadence, a: Anchors) {
    const { publicUrl, site } = this;
    return {
      // The weekly edition is the daily one with another heading: the same cards, footer and text.
      heading: escapeHtml(cadence === 'weekly' ? weekLine(date, 'long') : formatDay(date, 'long')),
      ...this.footer(
        `You get this email because you subscribed to the Paperboy ${cadence} digest at ${link(`${publicUrl}/`, site, a.reason)}.`,
        [
          link(digestUrl(publicUrl, date, cadence), 'View in browser', a.links),
          linkToPlaceholder('preferences_url', 'Preferences', a.links),
          linkToPlaceholder('unsubscribe_url', 'Unsubscribe', a.links),
        ].join(' · '),
      ),
    };
  }

  /** What depends on the list besides its cards: the subject, the shell's values, the text part. */
  variant(date: string, papers: Paper[], cadence: Cadence) {
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
      browserUrl: digestUrl(this.publicUrl, date, cadence),
      publicUrl: this.publicUrl,
      postal: this.postalAddress,
    });
    return { subject, shell, text };
  }

  confirm(withPreferences: boolean, a: Anchors) {
    return {
      title: escapeHtml(CONFIRM_SUBJECT),
      preheader: escapeHtml('One click and your digest of trending ML papers starts.'),
      heading: escapeHtml('Confirm your subscription'),
      intro: escapeHtml('One step left before your first digest.'),
      ...this.footer(
        `You get this email because someone asked to subscribe this address at ${link(`${this.publicUrl}/`, this.site, a.reason)}.`,
        withPreferences ? linkToPlaceholder('preferences_url', 'Preferences', a.links) : '',
      ),
    };
  }

  already(a: Anchors) {
    return {
      title: escapeHtml(ALREADY_SUBJECT),
      preheader: escapeHtml('Nothing changed: your preferences and unsubscribe links are inside.'),
      heading: escapeHtml('You’re already subscribed'),
      intro: escapeHtml('Your digest keeps coming as it is.'),
      ...this.footer(
        `You get this email because someone asked to subscribe this address at ${link(`${this.publicUrl}/`, this.site, a.reason)}, which already gets the digest.`,
        [
          linkToPlaceholder('preferences_url', 'Preferences', a.links),
          linkToPlaceholder('unsubscribe_url', 'Unsubscribe', a.links),
        ].join(' · '),
      ),
    };
  }

  private footer(reason: string, links: string) {
    return { reason, links, postal: escapeHtml(this.postalAddress) };
  }
}

type ReferenceDigest = Templates['referenceDigest'];

/** A digest compiled by MJML from its filled source. */
function referenceDigester(sources: Sources, values: EmailValues, compile: Compile): ReferenceDigest {
  return async ({ date, papers, cadence = 'daily' }) => {
    checkDate(date);
    const v = values.variant(date, papers, cadence);
    // MJML's CSS inlining gives the links their attributes itself.
    const cards = papers.map((p, i) => fill('partials/paper.mjml', sources.paper, paperValues(p, String(i + 1), {})));
    const source = fill('digest.mjml', sources.digest, {
      ...v.shell,
      ...values.edition(date, cadence, {}),
      papers: cards.join('\n'),
    });
    return { date, subject: v.subject, html: await compile('digest.mjml', source), text: v.text };
  };
}

/** The compiled templates, placeholders and all; the digest cut around its one card. */
async function buildTemplates(sources: Sources, compile: Compile): Promise<CompiledTemplates> {
  const [digest, confirm, already] = await Promise.all([
    compile('digest.mjml', withProbes(sources.digest.replace('{{papers}}', () => sources.paper))),
    compile('confirm.mjml', withProbes(sources.confirm)),
    compile('already-subscribed.mjml', withProbes(sources.already)),
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
}

/** The emails filled into compiled templates. */
function fillTemplates(compiled: CompiledTemplates, values: EmailValues, referenceDigest: ReferenceDigest): Templates {
  const { publicUrl, postalAddress } = values;
  const digestAssembler = digestAssemblerOf(compiled, values);
  const confirmHtml = (withPreferences: boolean) =>
    fill('confirm.mjml', compiled.confirm.html, values.confirm(withPreferences, compiled.confirm.anchors));
  const confirmWithPreferences = confirmHtml(true);
  const confirmPlain = confirmHtml(false);
  const already = fill('already-subscribed.mjml', compiled.already.html, values.already(compiled.already.anchors));
  return {
    confirm({ confirmUrl, preferencesUrl }: { confirmUrl: string; preferencesUrl?: string }): Rendered {
      const confirm = ownUrl(confirmUrl);
      const preferences = preferencesUrl === undefined ? undefined : ownUrl(preferencesUrl);
      const html = fillLinks(
        preferences === undefined ? confirmPlain : confirmWithPreferences,
        { confirm_url: confirm, preferences_url: preferences ?? '' },
        escapeHtml,
      );
      return { subject: CONFIRM_SUBJECT, html, text: confirmText(confirm, preferences, publicUrl, postalAddress) };
    },
    alreadySubscribed(links: SubscriberLinks): Rendered {
      const filled = { preferences_url: ownUrl(links.preferencesUrl), unsubscribe_url: ownUrl(links.unsubscribeUrl) };
      return {
        subject: ALREADY_SUBJECT,
        html: fillLinks(already, filled, escapeHtml),
        text: alreadyText(filled, publicUrl, postalAddress),
      };
    },
    compileDigest: ({ date, papers, cadence = 'daily' }: DigestContent) => digestAssembler(date, cadence)(papers),
    digestAssembler,
    referenceDigest,
  };
}

/** The digests of an edition, spliced from the compiled shell and cards. */
function digestAssemblerOf(compiled: CompiledTemplates, values: EmailValues): Templates['digestAssembler'] {
  const { shell, card } = compiled;
  const cardOf = (p: Paper) => {
    const piece = splitAtRank(fill('partials/paper.mjml', card.html, paperValues(p, RANK_PLACEHOLDER, card.anchors)));
    // The compiled card has one {{rank}} and every value is escaped, so a paper cannot add one.
    if (!piece) throw new TemplateError('partials/paper.mjml: a card must hold #{{rank}} once');
    return piece;
  };
  return (date: string, cadence: Cadence = 'daily') => {
    checkDate(date);
    const edition = values.edition(date, cadence, shell.anchors);
    // A run ranks every variant from the same frozen list of objects: a paper's card is filled once.
    const cards = new Map<Paper, CardPiece>();
    return async (papers: Paper[]): Promise<CompiledDigest> => {
      const v = values.variant(date, papers, cadence);
      const filled = { ...v.shell, ...edition };
      const pieces = papers.map((p) => cards.get(p) ?? cards.set(p, cardOf(p)).get(p)!);
      const html = joinPieces(fill('digest.mjml', shell.head, filled), pieces, fill('digest.mjml', shell.tail, filled));
      return { date, subject: v.subject, html, text: v.text };
    };
  };
}

/** After a fresh compile: each email filled in must be MJML's own compile of its filled source. */
async function checkTemplates(t: Templates, sources: Sources, values: EmailValues, compile: Compile): Promise<void> {
  const { publicUrl } = values;
  const differs = (file: string) =>
    new TemplateError(
      `${file}: a placeholder sits where MJML changes text; put it in mj-text, mj-title or an mj-button href`,
    );
  const links = {
    confirmUrl: `${publicUrl}/c?t=1&u=2`,
    preferencesUrl: `${publicUrl}/p`,
    unsubscribeUrl: `${publicUrl}/u`,
  };
  const direct = async (file: string, source: string, filled: Record<string, string>) =>
    fillLinks(
      await compile(file, fill(file, source, filled)),
      { confirm_url: links.confirmUrl, preferences_url: links.preferencesUrl, unsubscribe_url: links.unsubscribeUrl },
      escapeHtml,
    );
  const [confirmWith, confirmWithout, already] = await Promise.all([
    direct('confirm.mjml', sources.confirm, values.confirm(true, {})),
    direct('confirm.mjml', sources.confirm, values.confirm(false, {})),
    direct('already-subscribed.mjml', sources.already, values.already({})),
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
