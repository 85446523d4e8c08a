import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { DigestsStore } from '../../db/digests-store.ts';
import { personalise, type Templates } from '../../mail/templates.ts';
import { formatDay, topLine, weekLine } from '../../mail/edition-names.ts';
import type { Cadence } from '../../model/cadence.ts';
import { html as safe } from '../../html.ts';
import { layout } from '../pages.ts';
import { securityHeadersWith } from '../security-headers.ts';

export interface DigestRoutesDeps {
  digests: Pick<DigestsStore, 'get' | 'list'>;
  templates: Pick<Templates, 'compileDigest'>;
  /** PUBLIC_URL without a trailing slash. */
  publicUrl: string;
  /** How many papers the web view shows (DIGEST_SIZE): the archive is the default digest. */
  size: number;
}

const dateParams = z.object({ date: z.iso.date() });
const LIST_LIMIT = 365;
/** Compiled pages kept in memory: a frozen digest never changes, and compiling one blocks the event loop. */
const PAGE_CACHE_SIZE = 60;

// The pages carry outside text (titles, abstracts): escaped, and no script may run even if not;
// they hold no form and no image. The app's other security headers apply as on every page.
const PAGE_HEADERS = {
  config: {
    securityHeaders: securityHeadersWith({
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'unsafe-inline'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
    }),
  },
};

/**
 * The web archive: "view in browser" and the list of past digests (their Atom feeds are in
 * feeds.ts). Weekly editions live at /digests/weekly/<the Sunday ending the week>, and one list
 * holds both kinds, newest first.
 */
export function digestRoutes(deps: DigestRoutesDeps) {
  const pages = new Map<string, Promise<string>>();

  const webPage = (date: string, cadence: Cadence): Promise<string> | undefined => {
    const key = `${cadence} ${date}`;
    const cached = pages.get(key);
    if (cached) return cached;
    const digest = deps.digests.get(date, cadence);
    if (!digest || digest.papers.length === 0) return undefined;
    const page = deps.templates
      .compileDigest({ date, papers: digest.papers.slice(0, deps.size), cadence })
      // A reader of the archive has no personal links: both point at the subscribe page.
      .then(
        (compiled) =>
          personalise(compiled, { unsubscribeUrl: `${deps.publicUrl}/`, preferencesUrl: `${deps.publicUrl}/` }).html,
      );
    page.catch(() => pages.delete(key));
    pages.set(key, page);
    if (pages.size > PAGE_CACHE_SIZE) pages.delete(pages.keys().next().value!);
    return page;
  };

  return async function digestsPlugin(app: FastifyInstance) {
    app.get('/digests', PAGE_HEADERS, async (_req, reply) => {
      const items = deps.digests
        .list(LIST_LIMIT)
        .map((d) =>
          d.cadence === 'weekly'
            ? safe`<li class="card weekly"><a href="/digests/weekly/${d.date}">${weekLine(d.date, 'long')}</a><div class="hint">The week’s top ${Math.min(d.count, deps.size)} — #1: ${d.topTitle}</div></li>`
            : safe`<li class="card"><a href="/digests/${d.date}">${formatDay(d.date, 'long')}</a><div class="hint">${topLine(Math.min(d.count, deps.size), d.date)} — #1: ${d.topTitle}</div></li>`,
        );
      const body = items.length ? safe`<ul class="digests">${items}</ul>` : safe`<p>No digest has been sent yet.</p>`;
      return html(
        reply,
        200,
        layout(
          'Past digests',
          safe`<h1>Past digests</h1>${body}<p><a href="/digests.atom">Atom feed</a> · <a href="/">Subscribe</a></p>`,
        ),
      );
    });

    app.get('/digests/:date', PAGE_HEADERS, async (req, reply) => {
      const params = dateParams.safeParse(req.params);
      const page = params.success ? webPage(params.data.date, 'daily') : undefined;
      if (!page) return notFound(reply);
      return html(reply, 200, await page);
    });

    app.get('/digests/weekly/:date', async (req, reply) => {
      const params = dateParams.safeParse(req.params);
      const page = params.success ? webPage(params.data.date, 'weekly') : undefined;
      if (!page) return notFound(reply);
      return html(reply, 200, await page);
    });
  };
}

function notFound(reply: FastifyReply) {
  return html(
    reply,
    404,
    layout(
      'No digest that day',
      safe`<h1>No digest that day</h1><p>There is no digest for that date: weekends are usually quiet, and dates look like 2026-11-24 (a weekly edition’s is the Sunday ending its week).</p><p><a href="/digests">See all past digests</a></p>`,
    ),
  );
}

function html(reply: FastifyReply, status: number, body: string) {
  return reply.code(status).type('text/html; charset=utf-8').send(body);
}
