import type { LoadResult } from './subscribe.ts';
import type { Plan } from './plan.ts';
import type { Results } from './results.ts';
import { fmt, medianBy, verdict, type Row } from './report.ts';

/** The rows of the sections that time the app's pieces outside a send: rendering, POST /subscribe, ingest. */

/** A load's status codes, as "202×51166 429×6266". */
const codes = (x: { statusCodes: Record<string, number> } | undefined) =>
  x
    ? Object.entries(x.statusCodes)
        .map(([k, v]) => `${k}×${v}`)
        .join(' ')
    : '';

export function appRows(p: Plan, r: Results): Row[] {
  const rows: Row[] = [];
  if (r.render) {
    const x = r.render;
    const section = 'render';
    rows.push({
      section,
      figure: `MJML compile of a digest (referenceDigest), CPU (mean of ${x.compileRuns} after the first)`,
      value: fmt.ms(x.compileMeanMs),
      baseline: `first ${fmt.ms(x.compileFirstMs)}`,
      ratio: '',
      target: '',
      result: '—',
      note: `wall ${fmt.ms(x.compileMeanWallMs)}; loadTemplates ${fmt.ms(x.loadTemplatesMs)}; HTML ${Math.round(x.htmlBytes / 1024)} KB, text ${Math.round(x.textBytes / 1024)} KB; all render figures are CPU time per operation`,
    });
    rows.push({
      section,
      figure: 'compileDigest: a digest filled into the compiled templates / variant',
      value: fmt.us(x.fillDigestUs),
      baseline: `MJML ${fmt.ms(x.compileMeanMs)}`,
      ratio: '',
      target: '',
      result: '—',
      note: 'what a send, a preview and the archive page do per variant: no MJML (src/mail/templates.ts)',
    });
    rows.push({
      section,
      figure: 'personalise() / recipient',
      value: `${fmt.us(x.personaliseUs)} (wall ${fmt.us(x.wall.personaliseUs ?? NaN)})`,
      baseline: '',
      ratio: '',
      target: '',
      result: '—',
      note: 'string fill of the compiled digest; the fast path does not call it (raw-message fills the links itself)',
    });
    rows.push({
      section,
      figure: 'signed links (HMAC ×2) / recipient',
      value: fmt.us(x.linksUs),
      baseline: '',
      ratio: '',
      target: '',
      result: '—',
    });
    rows.push({
      section,
      figure: 'raw-message renderMessage / recipient',
      value: `${fmt.us(x.renderMessageUs)} (wall ${fmt.us(x.wall.renderMessageUs ?? NaN)})`,
      baseline: `nodemailer ${fmt.us(x.nodemailerBuildUs)} (wall ${fmt.us(x.wall.nodemailerBuildUs ?? NaN)})`,
      ratio: fmt.ratio(x.nodemailerBuildUs / x.renderMessageUs),
      target: '',
      result: '—',
      note: `prepareMessage once per variant ${fmt.us(x.prepareMessageUs)}; message ${Math.round(x.rawBytesFastPath / 1024)} KB (nodemailer ${Math.round(x.rawBytesNodemailer / 1024)} KB)`,
    });
    rows.push({
      section,
      figure: 'fast path per recipient (links + build)',
      value: fmt.us(x.fastPathPerRecipientUs),
      baseline: `nodemailer ${fmt.us(x.nodemailerBuildUs)}`,
      ratio: fmt.ratio(x.nodemailerBuildUs / x.fastPathPerRecipientUs),
      target: '',
      result: '—',
    });
    if (x.dkimSignUs !== null)
      rows.push({
        section,
        figure: 'DKIM sign (RSA-2048) / message',
        value: fmt.us(x.dkimSignUs),
        baseline: '',
        ratio: '',
        target: '',
        result: '—',
        note: 'off by default; per message when DKIM_* is set; on DKIM_WORKERS threads',
      });
    rows.push({
      section,
      figure: 'DKIM ed25519-sha256 second signature / message',
      value: fmt.us(x.dkimEd25519Us),
      baseline: x.dkimSignUs === null ? '' : `RSA ${fmt.us(x.dkimSignUs)}`,
      ratio: '',
      target: '',
      result: '—',
      note: 'what DKIM_ED25519_KEY_PATH adds (same body hash and header canonicalisation as the RSA signature)',
    });
  }

  const medianLoad = (mode: LoadResult['mode']) => {
    const runs = r.subscribe.filter((s) => s.mode === mode);
    return runs.length ? medianBy(runs, (s) => s.reqPerSec) : undefined;
  };
  const bare = medianLoad('bare');
  const prodSub = medianLoad('product');
  if (p.sections.includes('subscribe')) {
    const all = (mode: LoadResult['mode']) =>
      r.subscribe
        .filter((s) => s.mode === mode)
        .map((s) => fmt.rate(s.reqPerSec))
        .join(', ');
    const ratio = bare && prodSub ? prodSub.reqPerSec / bare.reqPerSec : null;
    rows.push({
      section: 'subscribe',
      figure: 'POST /subscribe req/s (buildApp, rate limit off)',
      value: prodSub ? `${fmt.rate(prodSub.reqPerSec)} · p99 ${prodSub.p99Ms} ms` : 'failed',
      baseline: bare ? `${fmt.rate(bare.reqPerSec)} · p99 ${bare.p99Ms} ms` : 'failed',
      ratio: ratio === null ? '—' : fmt.pct(ratio),
      target: '≥ 50 %',
      result: prodSub && (prodSub.non2xx > 0 || prodSub.errors > 0) ? 'FAIL' : verdict(ratio, { min: 0.5 }),
      note: `medians of ${p.subscribeReps} (product ${all('product')}; bare ${all('bare')}); baseline: bare Fastify + one prepared INSERT OR IGNORE, same pragmas; ${p.subscribeConnections} connections, ${p.subscribeSeconds} s, a new address per request; status codes product [${codes(prodSub)}] bare [${codes(bare)}]; server CPU/req product ${prodSub?.serverCpuMsPerReq.toFixed(3) ?? '?'} ms, bare ${bare?.serverCpuMsPerReq.toFixed(3) ?? '?'} ms`,
    });
    const abusedRuns = r.subscribe.filter((s) => s.mode === 'abuse' && s.shares);
    const abused = abusedRuns.length ? medianBy(abusedRuns, (s) => s.shares!.legitimate.reqPerSec) : undefined;
    const legit = abused?.shares?.legitimate;
    const abuseRatio = legit && bare ? legit.reqPerSec / bare.reqPerSec : null;
    // Every sign-up must be accepted: a 429 or a 400 for one would mean the limiter or the validation misjudged it.
    const legitRefused = legit ? legit.requests - (legit.statusCodes['202'] ?? 0) : 0;
    rows.push({
      section: 'subscribe',
      figure: 'under abuse: legitimate sign-ups req/s (20 % over-limit IP, 10 % hostile)',
      value: legit ? `${fmt.rate(legit.reqPerSec)} · p99 ${legit.p99Ms} ms` : 'failed',
      baseline: bare ? `${fmt.rate(bare.reqPerSec)} · p99 ${bare.p99Ms} ms` : 'failed',
      ratio: abuseRatio === null ? '—' : fmt.pct(abuseRatio),
      target: '≥ 50 %',
      result: !abused || legitRefused > 0 || abused.errors > 0 ? 'FAIL' : verdict(abuseRatio, { min: 0.5 }),
      note: abused
        ? `medians of ${abusedRuns.length} by the legitimate share (${abusedRuns.map((s) => fmt.rate(s.shares!.legitimate.reqPerSec)).join(', ')}); whole mix ${fmt.rate(abused.reqPerSec)} · p99 ${abused.p99Ms} ms, server CPU/req ${abused.serverCpuMsPerReq.toFixed(3)} ms; TRUST_PROXY=127.0.0.1, SUBSCRIBE_RATE_PER_IP default, X-Forwarded-For per request; legitimate p50 ${legit!.p50Ms} ms [${codes(legit)}]; over-limit IP ${fmt.rate(abused.shares!['over-limit'].reqPerSec)} p99 ${abused.shares!['over-limit'].p99Ms} ms [${codes(abused.shares!['over-limit'])}]; hostile ${fmt.rate(abused.shares!.hostile.reqPerSec)} p99 ${abused.shares!.hostile.p99Ms} ms [${codes(abused.shares!.hostile)}]${abused.errors ? `; ${abused.errors} connection errors` : ''}`
        : 'no run',
    });
  }

  if (r.ingest) {
    const x = r.ingest;
    const section = `ingest ${x.papers} papers`;
    const add = (figure: string, ms: number | null, note?: string) =>
      rows.push({
        section,
        figure,
        value: ms === null ? '—' : fmt.ms(ms),
        baseline: '',
        ratio: '',
        target: '',
        result: '—',
        ...(note ? { note } : {}),
      });
    add(
      'parse (JSON + zod per item)',
      x.parseMs,
      `first call ${fmt.ms(x.parseFirstMs)}; ${Math.round(x.jsonBytes / 1024)} KB of JSON; medians of ${x.runs}`,
    );
    add('store, new day (one transaction)', x.storeNewMs);
    add('store, refresh of the same day', x.storeRefreshMs);
    add('load the day back', x.loadDayMs);
    add('rank (top 10)', x.rankMs);
    add('rank with 3 keywords', x.rankKeywordsMs);
    add('ingestDay over HTTP (5 pages, local API)', x.ingestDayHttpMs);
  }
  return rows;
}
