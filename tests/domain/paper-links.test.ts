import { describe, expect, it } from 'vitest';
import { checkPaperLink, droppedPaperLinks, safePaperLink } from '../../src/domain/paper-links.ts';
import { fixturePapers } from '../support/fixture-papers.ts';

describe('safePaperLink: which links from the paper data an email may show', () => {
  it.each([
    ['https://github.com/example/repo', 'https://github.com/example/repo'],
    ['https://example.github.io/project/', 'https://example.github.io/project/'],
    ['https://GitHub.com:443/a/b?tab=readme#top', 'https://github.com/a/b?tab=readme#top'],
    ['  https://huggingface.co/spaces/x/y  ', 'https://huggingface.co/spaces/x/y'],
    // Names that merely contain a shortener's name are not shorteners.
    ['https://habit.ly.example.org/', 'https://habit.ly.example.org/'],
    ['https://notbit.ly/x', 'https://notbit.ly/x'],
  ])('when the link is %s, then it is kept as %s', (raw, kept) => {
    expect(safePaperLink(raw)).toBe(kept);
  });

  it.each([
    ['http://github.com/example/repo', 'http: is not https:'],
    ['javascript:alert(1)', 'javascript: is not https:'],
    ['ftp://files.example.org/model.bin', 'ftp: is not https:'],
    ['not a url', 'not a URL'],
    ['https://github.com:8443/example/repo', 'port 8443 is not 443'],
    ['https://93.184.216.34/paper', 'an IP address as the host'],
    ['https://0x5db8d822/paper', 'an IP address as the host'],
    ['https://1572395042/paper', 'an IP address as the host'],
    ['https://[2001:db8::1]/paper', 'an IP address as the host'],
    ['https://github.com@evil.example/repo', 'userinfo before the host'],
    ['https://user:secret@example.org/', 'userinfo before the host'],
    ['https://xn--gthub-n4a.com/example/repo', 'a punycode (xn--) label'],
    ['https://gіthub.com/example/repo', 'a punycode (xn--) label'],
    ['https://project.xn--p1ai/', 'a punycode (xn--) label'],
    ['https://bit.ly/3abcDEF', 'a URL shortener (bit.ly)'],
    ['https://BIT.LY./3abcDEF', 'a URL shortener (bit.ly)'],
    ['https://t.co/abc', 'a URL shortener (t.co)'],
    ['https://tinyurl.com/xyz', 'a URL shortener (tinyurl.com)'],
    ['https://www.tinyurl.com/xyz', 'a URL shortener (tinyurl.com)'],
  ])('when the link is %s, then it is dropped: %s', (raw, reason) => {
    expect(checkPaperLink(raw)).toEqual({ reason });
    expect(safePaperLink(raw)).toBeUndefined();
  });

  it('when a paper has a bad code link and a good project page, then only the code link is named as dropped', () => {
    const paper = {
      ...fixturePapers('2026-11-24')[0]!,
      githubRepo: 'https://bit.ly/x',
      projectPage: 'https://example.org/p',
    };
    expect(droppedPaperLinks(paper)).toEqual([
      { field: 'githubRepo', url: 'https://bit.ly/x', reason: 'a URL shortener (bit.ly)' },
    ]);
    expect(droppedPaperLinks({ ...paper, githubRepo: null })).toEqual([]);
  });
});
