import { afterEach, describe, expect, it } from 'vitest';
import { parseReport } from '../../src/bounces/classify/parse-report.ts';
import { createReportParser, ParseTimedOut, type ReportParser } from '../../src/bounces/classify/report-parser.ts';
import { bounceMail } from '../support/bounce-fixtures.ts';

let parser: ReportParser | undefined;
afterEach(async () => {
  await parser?.close();
  parser = undefined;
});

/** A DSN of `lines` short lines of prose: plenty of work for the parser, harmless to read. */
const longReport = (lines: number) =>
  Buffer.from(
    [
      'From: MAILER-DAEMON@mx.example.net',
      'To: bounces@papers.example.org',
      'Subject: Undelivered Mail Returned to Sender',
      'Message-ID: <long@mx.example.net>',
      '',
      ...Array.from({ length: lines }, (_, i) => `line ${i} of a long report`),
      '',
    ].join('\r\n'),
  );

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('the report parser thread', () => {
  it('when a real report is parsed on the thread, then it reads the same as the parser itself', async () => {
    parser = createReportParser({ timeoutMs: 30_000 });
    for (const file of ['rfc3464-26.eml', 'arf-22.eml', 'lhost-postfix-14.eml'])
      expect(await parser.parse(bounceMail(file))).toEqual(await parseReport(bounceMail(file)));
  });

  it('when the main thread is blocked, then the parse goes on: it runs on its own thread', async () => {
    parser = createReportParser({ timeoutMs: 30_000 });
    await parser.parse(bounceMail('rfc3464-26.eml'));
    let done = false;
    const parsing = parser.parse(longReport(20_000)).then(() => (done = true));
    // Nothing on this thread runs for two seconds; a parse here could not have started.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
    await turns(5);
    expect(done).toBe(true);
    await parsing;
  });

  it('when a parse runs over its time budget, then it fails with ParseTimedOut and the next report is parsed by a fresh thread', async () => {
    parser = createReportParser({ timeoutMs: 1 });
    await expect(parser.parse(longReport(50_000))).rejects.toBeInstanceOf(ParseTimedOut);
    await parser.close();
    parser = createReportParser({ timeoutMs: 30_000 });
    expect((await parser.parse(bounceMail('rfc3464-26.eml'))).kind).toBe('dsn');
  });

  it('when reports come faster than the thread parses, then each is answered, in order', async () => {
    parser = createReportParser({ timeoutMs: 30_000 });
    const files = ['rfc3464-26.eml', 'arf-22.eml', 'lhost-postfix-14.eml', 'rfc3464-51.eml'];
    const reports = await Promise.all(files.map((f) => parser!.parse(bounceMail(f))));
    expect(reports.map((r) => r.kind)).toEqual(['dsn', 'arf', 'dsn', 'dsn']);
  });

  it('when the parser is closed, then waiting reports fail instead of hanging', async () => {
    parser = createReportParser({ timeoutMs: 30_000 });
    const failed = expect(parser.parse(longReport(10_000))).rejects.toThrow(/closed/);
    await parser.close();
    await failed;
  });
});
