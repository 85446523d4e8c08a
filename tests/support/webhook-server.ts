import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Slack's and Discord's incoming webhooks and for a JSON receiver, on
 * 127.0.0.1. Each POST is checked against the platform's documented payload shape and limits (the
 * path's first segment says which: /slack/…, /discord/…, /json/…): a payload that breaks them is
 * answered 400 with the problems, as the platforms refuse it. Answers can be scripted per request.
 */
export interface WebhookServer {
  /** e.g. http://127.0.0.1:PORT */
  base: string;
  /** Every POST received, in order. */
  received: { path: string; body: unknown; problems: string[] }[];
  /** The next answers, in order (then 200/204). */
  answers: { status: number; headers?: Record<string, string> }[];
  close(): Promise<void>;
}

export async function startWebhookServer(): Promise<WebhookServer> {
  const state: Pick<WebhookServer, 'received' | 'answers'> = { received: [], answers: [] };
  const server = createServer((req, res) => {
    void readBody(req).then((raw) => {
      const path = req.url ?? '/';
      let body: unknown;
      let problems: string[];
      try {
        body = JSON.parse(raw);
        problems =
          req.headers['content-type'] !== 'application/json'
            ? ['content-type is not application/json']
            : check(path, body);
      } catch {
        problems = ['not JSON'];
      }
      state.received.push({ path, body, problems });
      const scripted = state.answers.shift();
      if (problems.length) return void res.writeHead(400, { 'content-type': 'text/plain' }).end(problems.join('\n'));
      if (scripted) return void res.writeHead(scripted.status, scripted.headers).end();
      // Slack answers 200 "ok"; Discord 204.
      res.writeHead(path.startsWith('/discord/') ? 204 : 200).end(path.startsWith('/slack/') ? 'ok' : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    ...state,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (raw += d));
    req.on('end', () => resolve(raw));
  });
}

function check(path: string, body: unknown): string[] {
  if (path.startsWith('/slack/')) return checkSlack(body);
  if (path.startsWith('/discord/')) return checkDiscord(body);
  return typeof body === 'object' && body !== null ? [] : ['not an object'];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const len = (v: unknown) => (typeof v === 'string' ? v.length : 0);

/** Slack's reserved characters must arrive escaped in mrkdwn: no raw < or >, & only as an entity. */
const mrkdwnUnescaped = (s: string) => /[<>]|&(?!(amp|lt|gt);)/.test(s);

/** Block Kit (docs.slack.dev/reference/block-kit): the blocks and text objects this product sends. */
export function checkSlack(body: unknown): string[] {
  const p: string[] = [];
  if (!isObject(body)) return ['not an object'];
  if (typeof body.text !== 'string' || !body.text) p.push('no notification text');
  else if (mrkdwnUnescaped(body.text)) p.push(`text not escaped: ${body.text}`);
  const blocks = body.blocks;
  if (!Array.isArray(blocks) || blocks.length < 1 || blocks.length > 50) return [...p, 'blocks: 1 to 50'];
  const text = (t: unknown, max: number, where: string) => {
    if (!isObject(t) || (t.type !== 'plain_text' && t.type !== 'mrkdwn')) return p.push(`${where}: not a text object`);
    if (len(t.text) < 1 || len(t.text) > max) p.push(`${where}: text length ${len(t.text)} not in 1..${max}`);
    if (t.type === 'mrkdwn' && mrkdwnUnescaped(String(t.text))) p.push(`${where}: mrkdwn not escaped`);
  };
  const actionIds = new Set<string>();
  blocks.forEach((b: unknown, i) => {
    const where = `block ${i}`;
    if (!isObject(b)) return void p.push(`${where}: not an object`);
    if (b.type === 'header') {
      if (!isObject(b.text) || b.text.type !== 'plain_text') p.push(`${where}: header text must be plain_text`);
      text(b.text, 150, where);
    } else if (b.type === 'section') text(b.text, 3000, where);
    else if (b.type === 'context') {
      if (!Array.isArray(b.elements) || b.elements.length < 1 || b.elements.length > 10)
        p.push(`${where}: 1 to 10 elements`);
      else b.elements.forEach((e: unknown, j) => text(e, 3000, `${where}.${j}`));
    } else if (b.type === 'actions') {
      if (!Array.isArray(b.elements) || b.elements.length < 1 || b.elements.length > 25)
        p.push(`${where}: 1 to 25 elements`);
      else
        b.elements.forEach((e: unknown, j) => {
          if (!isObject(e) || e.type !== 'button') return void p.push(`${where}.${j}: not a button`);
          if (!isObject(e.text) || e.text.type !== 'plain_text')
            p.push(`${where}.${j}: button text must be plain_text`);
          text(e.text, 75, `${where}.${j}`);
          if (typeof e.url !== 'string' || e.url.length > 3000 || !/^https?:\/\//.test(e.url))
            p.push(`${where}.${j}: url`);
          if (typeof e.action_id === 'string') {
            if (actionIds.has(e.action_id)) p.push(`${where}.${j}: action_id repeated`);
            actionIds.add(e.action_id);
          }
        });
    } else if (b.type !== 'divider') p.push(`${where}: type ${String(b.type)} not expected`);
  });
  return p;
}

/** Discord's webhook and embed limits (discord.com/developers/docs/resources/message#embed-limits). */
export function checkDiscord(body: unknown): string[] {
  const p: string[] = [];
  if (!isObject(body)) return ['not an object'];
  if (len(body.content) > 2000) p.push('content over 2000');
  const mentions = body.allowed_mentions;
  if (
    !isObject(mentions) ||
    !Array.isArray(mentions.parse) ||
    mentions.parse.length !== 0 ||
    Object.keys(mentions).length !== 1
  )
    p.push('allowed_mentions must be {"parse": []}');
  const embeds = body.embeds ?? [];
  if (!Array.isArray(embeds) || embeds.length > 10) return [...p, 'embeds: at most 10'];
  if (!body.content && !embeds.length) p.push('neither content nor embeds');
  let total = 0;
  embeds.forEach((e: unknown, i) => {
    if (!isObject(e)) return void p.push(`embed ${i}: not an object`);
    if (len(e.title) > 256) p.push(`embed ${i}: title over 256`);
    if (len(e.description) > 4096) p.push(`embed ${i}: description over 4096`);
    const fields = (e.fields ?? []) as Json[];
    if (fields.length > 25) p.push(`embed ${i}: over 25 fields`);
    for (const f of fields) if (len(f.name) > 256 || len(f.value) > 1024) p.push(`embed ${i}: field over its limit`);
    const footer = isObject(e.footer) ? len(e.footer.text) : 0;
    const author = isObject(e.author) ? len(e.author.name) : 0;
    if (footer > 2048) p.push(`embed ${i}: footer over 2048`);
    total +=
      len(e.title) + len(e.description) + footer + author + fields.reduce((n, f) => n + len(f.name) + len(f.value), 0);
  });
  if (total > 6000) p.push(`embeds: ${total} characters in all, over 6000`);
  return p;
}
