import type { Paper } from '../../src/model/paper.ts';

/** Titles and summaries that try every way into a channel: mentions, links, markup. */
export const HOSTILE = [
  '<!channel> urgent',
  '<!here> look',
  '@everyone free GPUs',
  '@here too',
  '<@U123> and <@&456> and <#C789>',
  '<https://evil.example|click>',
  '[x](https://evil.example)',
  '*bold* _italic_ ~strike~ `code` ||spoiler||',
  'Tom & Jerry <b>tags</b> > quote',
  '# heading',
  '- list item',
  '1. numbered',
  ':skull: </cmd:1> <t:1:R> https://bare.example/x',
  '\\*escaped already\\*',
];
/** The papers given, one per hostile text, carrying them in every field a channel shows. */
export const hostilePapers = (papers: Paper[]): Paper[] =>
  papers.map((p, i) => ({
    ...p,
    title: HOSTILE[i % HOSTILE.length]!,
    abstract: HOSTILE.slice(i).concat(HOSTILE.slice(0, i)).join(' '),
    aiSummary: null,
    authors: ['@everyone', '<!channel>', '[a](https://evil.example)'],
    githubRepo: 'https://github.com/a/b)[x](https://evil.example',
    projectPage: 'javascript:alert(1)',
  }));

/** Every text object in a Block Kit payload. */
export function slackTexts(payload: object): { type: string; text: string }[] {
  const out: { type: string; text: string }[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    if ((o.type === 'plain_text' || o.type === 'mrkdwn') && typeof o.text === 'string')
      out.push({ type: o.type, text: o.text });
    Object.values(o).forEach(walk);
  };
  walk(payload);
  return out;
}

/** The characters Discord's markdown reads, where not escaped by a backslash. */
export function liveDiscordMarkup(text: string): string[] {
  // Our own links: a label we chose and an https target with nothing that could end it early.
  const ours = text
    .replace(/\[(Paper|arXiv|Code|Project page)\]\(https:\/\/[^()\s[\]<>]+\)/g, '')
    .replace(/<https:\/\/papers\.example\.org\/[^<>\s]+>/g, '')
    .replace(/^\*\*(.*)\*\*$/m, '$1');
  const live: string[] = [];
  for (let i = 0; i < ours.length; i++) {
    const c = ours[i]!;
    if (c === '\\') i++;
    else if ('*_~`|[]()<>#@'.includes(c))
      live.push(`${c} in ${JSON.stringify(ours.slice(Math.max(0, i - 20), i + 20))}`);
  }
  if (ours.includes('://')) live.push('a URL left to link');
  if (/(^|[^\\]):[\w+-]+:/.test(ours)) live.push('an emoji code');
  return live;
}
