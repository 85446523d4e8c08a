import { html, SafeHtml } from '../html.ts';
import { DIGEST_SIZES } from '../config.ts';
import { CADENCES, type Cadence } from '../model/cadence.ts';
import type { KeywordPreview } from '../domain/keyword-preview.ts';
import { DELIVERY_HOURS, RENAMED_ZONES, TIME_ZONES } from '../domain/time-zones.ts';

/**
 * The site's own pages. No external requests, and one script: ZONE_SCRIPT, the only one the CSP
 * (security-headers.ts) lets run, by its hash.
 */

const STYLE = `
:root{--bg:#f3f2ee;--card:#fff;--ink:#14171c;--muted:#5b6472;--line:#e3e6eb;--accent:#c2410c;--accent-ink:#fff;--bad:#b3261e;--good:#1b7f3b}
@media (prefers-color-scheme:dark){:root{--bg:#101216;--card:#181b21;--ink:#e8eaee;--muted:#a0a8b5;--line:#2a2f38;--accent:#fb923c;--accent-ink:#1a0d05;--bad:#ff8a80;--good:#7fd49a}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:16px/1.55 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
main{max-width:40rem;margin:0 auto;padding:2.5rem 1.25rem 4rem}
header.brand{display:flex;align-items:center;gap:.6rem;margin-bottom:1.5rem;font-weight:700;font-size:1.1rem}
header.brand a{color:inherit;text-decoration:none}
.logo{display:inline-grid;place-items:center;width:2rem;height:2rem;border-radius:.5rem;background:var(--accent);color:var(--accent-ink);font-weight:800}
h1{font-size:clamp(1.6rem,5vw,2.2rem);line-height:1.2;margin:.2rem 0 .8rem}
h2{font-size:1.1rem;margin:2rem 0 .6rem}
p{margin:.4rem 0 1rem}
.lead{color:var(--muted);font-size:1.08rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:.9rem;padding:1.25rem;margin:1rem 0}
.card>:first-child,.card>h2:first-child{margin-top:0}
label{display:block;font-weight:600;margin:.9rem 0 .35rem}
.hint{font-weight:400;color:var(--muted);font-size:.9rem}
input[type=email],input[type=text],select{width:100%;font:inherit;padding:.7rem .8rem;border:1px solid var(--line);border-radius:.6rem;background:var(--bg);color:var(--ink)}
input:focus,select:focus,button:focus{outline:3px solid color-mix(in srgb,var(--accent) 45%,transparent);outline-offset:1px}
.row{display:grid;grid-template-columns:1fr 2fr;gap:.8rem}
@media (max-width:30rem){.row{grid-template-columns:1fr}}
button{font:inherit;font-weight:700;cursor:pointer;border:0;border-radius:.6rem;padding:.75rem 1.2rem;background:var(--accent);color:var(--accent-ink);margin-top:1.1rem;width:100%}
button.secondary{background:transparent;color:var(--bad);border:1px solid var(--line);width:auto}
.error{border-left:4px solid var(--bad);padding:.6rem .9rem;background:color-mix(in srgb,var(--bad) 10%,transparent);border-radius:.4rem}
.ok{border-left:4px solid var(--good);padding:.6rem .9rem;background:color-mix(in srgb,var(--good) 10%,transparent);border-radius:.4rem}
.sample ol{padding-left:1.2rem;margin:0}.sample li{margin:.5rem 0}.sample .meta{color:var(--muted);font-size:.88rem}
ul.digests{list-style:none;padding:0}ul.digests a{font-weight:700}
.feed a{overflow-wrap:anywhere}
.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
footer{margin-top:3rem;color:var(--muted);font-size:.85rem}
a{color:var(--accent)}
`;

export function layout(title: string, body: SafeHtml): string {
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · Paperboy</title><meta name="color-scheme" content="light dark">
<style>${new SafeHtml(STYLE)}</style></head>
<body><main><header class="brand"><a href="/"><span class="logo">P</span></a><a href="/">Paperboy</a></header>
${body}
<footer>Paperboy sends one email a day (or one a week) with the trending machine-learning papers from Hugging Face Daily Papers. <a href="/digests">Past digests</a></footer>
</main></body></html>`}`;
}

export interface SubscribeFormValues {
  email?: string;
  digest_size?: number | string;
  keywords?: string;
  cadence?: string;
  timezone?: string;
  delivery_hour?: number | string;
}

export interface SamplePaper {
  title: string;
  upvotes: number;
  authors: string;
}

function sizeOptions(selected: number | string) {
  return DIGEST_SIZES.map(
    (n) => html`<option value="${n}"${String(selected) === String(n) ? html` selected` : ''}>${n} papers</option>`,
  );
}

const CADENCE_LABELS: Record<Cadence, string> = { daily: 'Every day', weekly: 'Once a week: the week’s top papers' };

/** Daily or weekly: the form's and the preferences page's field. */
function cadenceField(selected: string | undefined) {
  const options = CADENCES.map(
    (c) =>
      html`<option value="${c}"${(selected || 'daily') === c ? html` selected` : ''}>${CADENCE_LABELS[c]}</option>`,
  );
  return html`<label for="cadence">How often</label>
  <select id="cadence" name="cadence">${options}</select>`;
}

/**
 * Picks the browser's own zone in an empty zone field, so a reader need not find theirs in the
 * list; without script the field stays on the list's default. Browsers answer with CLDR's names
 * (Chromium says Asia/Calcutta), and the list holds current IANA names, hence the renames.
 */
export const ZONE_SCRIPT = `(()=>{const f=document.getElementById('timezone');if(!f||f.value)return;const renamed=${JSON.stringify(RENAMED_ZONES)};const z=Intl.DateTimeFormat().resolvedOptions().timeZone;const name=renamed[z]||z;if([...f.options].some((o)=>o.value===name))f.value=name;})();`;

const zoneScript = html`<script>${new SafeHtml(ZONE_SCRIPT)}</script>`;

/** The reader's zone and morning hour, both optional: empty is the list's own time. */
function deliveryFields(zone: string | null | undefined, hour: number | string | null | undefined) {
  const zoneOptions = TIME_ZONES.map(
    (z) => html`<option value="${z}"${z === zone ? html` selected` : ''}>${z.replaceAll('_', ' ')}</option>`,
  );
  const hourOptions = DELIVERY_HOURS.map(
    (h) =>
      html`<option value="${h}"${String(hour ?? '') === String(h) ? html` selected` : ''}>${String(h).padStart(2, '0')}:00</option>`,
  );
  return html`<div class="row">
    <div><label for="delivery_hour">Arrives at <span class="hint">(your time)</span></label>
    <select id="delivery_hour" name="delivery_hour"><option value="">The list’s usual hour</option>${hourOptions}</select></div>
    <div><label for="timezone">Your time zone</label>
    <select id="timezone" name="timezone"><option value="">Use the list’s default</option>${zoneOptions}</select></div>
  </div>`;
}

/** "around 07:00, Asia/Kolkata time": when a reader's digest arrives, as they set it. */
function deliveryTimeText(zone: string | null, hour: number | null): string {
  if (zone === null && hour === null) return 'the list’s usual time';
  const at = hour === null ? 'the list’s usual hour' : `around ${String(hour).padStart(2, '0')}:00`;
  return zone === null ? `${at}, the list’s time zone` : `${at}, ${zone} time`;
}

export function subscribePage(opts: {
  error?: { field: string | null; message: string };
  values?: SubscribeFormValues;
  /** DIGEST_SIZE: preselected, as it is what a sign-up without a size gets. */
  defaultSize: number;
  sample: SamplePaper[];
  sampleDate?: string;
}): string {
  const v = opts.values ?? {};
  return layout(
    'Trending ML papers in your inbox',
    html`<h1>The day’s trending ML papers, in your inbox every morning.</h1>
<p class="lead">One short email a day with the papers people upvote most on Hugging Face Daily Papers: title, authors, a two-line summary and links to arXiv and code. No tracking, one-click unsubscribe.</p>
<form class="card" method="post" action="/subscribe" novalidate>
  ${opts.error ? html`<p class="error" role="alert" id="form-error">${opts.error.message}</p>` : ''}
  <label for="email">Your email address</label>
  <input id="email" name="email" type="email" autocomplete="email" required maxlength="254" placeholder="ada@example.org" value="${v.email ?? ''}"${opts.error?.field === 'email' ? html` aria-invalid="true" aria-describedby="form-error"` : ''}>
  ${cadenceField(v.cadence)}
  <div class="row">
    <div><label for="digest_size">Papers per email</label>
    <select id="digest_size" name="digest_size">${sizeOptions(v.digest_size || opts.defaultSize)}</select></div>
    <div><label for="keywords">Only papers about <span class="hint">(optional, comma-separated)</span></label>
    <input id="keywords" name="keywords" type="text" maxlength="200" placeholder="e.g. diffusion, agents, speech" value="${v.keywords ?? ''}"></div>
  </div>
  ${deliveryFields(v.timezone, v.delivery_hour)}
  <div class="hp" aria-hidden="true"><label for="website">Leave this empty</label><input id="website" name="website" type="text" tabindex="-1" autocomplete="off"></div>
  <button type="submit">Subscribe</button>
  <p class="hint">We’ll send one email to confirm it’s you. Nothing arrives until you click its link.</p>
</form>
${zoneScript}
<section class="card sample"><h2>What arrives${opts.sampleDate ? html` <span class="hint">(the digest of ${opts.sampleDate})</span>` : ''}</h2>
${
  opts.sample.length
    ? html`<ol>${opts.sample.map((p) => html`<li><strong>${p.title}</strong><div class="meta">▲ ${p.upvotes} · ${p.authors}</div></li>`)}</ol>`
    : html`<ol><li><strong>A paper’s title, linking to its page</strong><div class="meta">▲ upvotes · comments · first authors et al.</div>Two or three lines of its abstract, then links to arXiv, the code and the project page.</li></ol>`
}
</section>`,
  );
}

export function checkInboxPage(): string {
  return layout(
    'Check your inbox',
    html`<h1>Check your inbox</h1>
<p class="ok">If that address can receive our digest, a confirmation email is on its way. Click the link in it to start receiving the daily papers.</p>
<p>Nothing arrived after a few minutes? Look in the spam folder, or <a href="/">try again</a>. The link is valid for 48 hours.</p>`,
  );
}

/**
 * The confirmation link's page: one button, a plain form posting back to the same URL. Each sign-up
 * has a link of its own, so the page shows what this one asked for before anything is applied.
 */
export function confirmPromptPage(
  email: string,
  asked: {
    digestSize: number;
    keywords: string;
    cadence: Cadence;
    timezone: string | null;
    deliveryHour: number | null;
  },
): string {
  return layout(
    'Confirm your subscription',
    html`<h1>Confirm your subscription</h1>
<p>Start sending trending ML papers to <strong>${email}</strong>, as this sign-up asked:</p>
<ul>
  <li>How often: ${CADENCE_LABELS[asked.cadence]}</li>
  <li>Papers per email: ${asked.digestSize}</li>
  <li>Only papers about: ${asked.keywords ? asked.keywords.split(',').join(', ') : 'any topic'}</li>
  <li>Arrives: ${deliveryTimeText(asked.timezone, asked.deliveryHour)}</li>
</ul>
<form method="post"><button type="submit">Confirm my subscription</button></form>
<p class="hint">Didn’t ask for this, or not like this? Close this page: nothing is sent without the button. Each sign-up’s email has its own link.</p>`,
  );
}

const tryAgain = html`<p><a href="/">Sign up again</a> and we’ll send a new link.</p>`;

export function confirmResultPage(outcome: 'confirmed' | 'already-confirmed' | 'expired' | 'invalid'): string {
  switch (outcome) {
    case 'confirmed':
      return layout(
        'Subscription confirmed',
        html`<h1>You’re subscribed</h1><p class="ok">Your first digest arrives with the next morning’s send (the weekly edition, with the next week’s). Every email has a link to change how often and how many papers you get, or to unsubscribe in one click.</p>`,
      );
    case 'already-confirmed':
      return layout(
        'Already confirmed',
        html`<h1>Already confirmed</h1><p>This link was used already: your subscription is active. Each digest has links to change your preferences or unsubscribe.</p>`,
      );
    case 'expired':
      return layout(
        'Link expired',
        html`<h1>This link has expired</h1><p class="error">Confirmation links are valid for 48 hours.</p>${tryAgain}`,
      );
    case 'invalid':
      return layout(
        'Link not valid',
        html`<h1>This link is not valid</h1><p class="error">It may have been copied incompletely, or the sign-up it was for has ended.</p>${tryAgain}`,
      );
  }
}

export function unsubscribePromptPage(email: string): string {
  return layout(
    'Unsubscribe',
    html`<h1>Unsubscribe?</h1>
<p>Stop sending the daily digest to <strong>${email}</strong>.</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
  );
}

export function unsubscribedPage(email: string): string {
  return layout(
    'Unsubscribed',
    html`<h1>You’re unsubscribed</h1><p class="ok">${email} will get no more digests.</p><p>Changed your mind? <a href="/">Subscribe again</a> any time.</p>`,
  );
}

/** "Would have matched 12 of the last 7 days' 240 papers": what the keywords in force do. */
function previewLine(keywords: string, p: KeywordPreview) {
  if (p.total === 0) return '';
  const lastDays = p.days === 1 ? 'the last day’s' : `the last ${p.days} days’`;
  const text = keywords.trim()
    ? `These keywords would have matched ${p.matched} of ${lastDays} ${p.total} papers.`
    : `No keywords: you get the top papers of the day, from all of ${lastDays} ${p.total} papers.`;
  return html`<p class="hint" id="keywords-preview">${text}</p>`;
}

export function preferencesPage(opts: {
  email: string;
  digestSize: number;
  keywords: string;
  cadence: Cadence;
  timezone: string | null;
  deliveryHour: number | null;
  preview: KeywordPreview;
  unsubscribeUrl: string;
  /** The personal Atom feed, which follows these settings. */
  feedUrl: string;
  saved?: boolean;
  error?: string;
}): string {
  return layout(
    'Your preferences',
    html`<h1>Your preferences</h1>
<p>For <strong>${opts.email}</strong></p>
<form class="card" method="post">
  ${opts.saved ? html`<p class="ok" role="status">Saved. The next digest follows these settings.</p>` : ''}
  ${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
  ${cadenceField(opts.cadence)}
  <label for="digest_size">Papers per email</label>
  <select id="digest_size" name="digest_size">${sizeOptions(opts.digestSize)}</select>
  <label for="keywords">Only papers about <span class="hint">(comma-separated; empty for all papers)</span></label>
  <input id="keywords" name="keywords" type="text" maxlength="200" value="${opts.keywords}"${opts.preview.total ? html` aria-describedby="keywords-preview"` : ''}>
  ${previewLine(opts.keywords, opts.preview)}
  ${deliveryFields(opts.timezone, opts.deliveryHour)}
  <p class="hint">A new time zone or hour can skip one edition, or bring one forward, the day it changes.</p>
  <button type="submit">Save</button>
</form>
${zoneScript}
<p class="feed">Your feed, with these settings, for a feed reader: <a href="${opts.feedUrl}">${opts.feedUrl}</a> <span class="hint">(it can only read your digests; keep it to yourself all the same)</span></p>
<form method="post" action="${opts.unsubscribeUrl}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button class="secondary" type="submit">Unsubscribe from all emails</button></form>`,
  );
}

export function messagePage(title: string, message: string): string {
  return layout(title, html`<h1>${title}</h1><p>${message}</p><p><a href="/">Back to the front page</a></p>`);
}
