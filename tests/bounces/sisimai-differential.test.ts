import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReport, type BounceReport } from '../../src/bounces/classify/parse-report.ts';
import { BOUNCE_FIXTURES, BOUNCE_MAIL, bounceMailFiles } from '../support/bounce-fixtures.ts';
import { postfixUnavailable, startPostfix, waitFor, type PostfixInstance } from '../support/postfix.ts';
import { freePort } from '../support/server-process.ts';
import {
  ourFamily,
  sisimaiFamily,
  sisimaiUnavailable,
  sisimaiVerdicts,
  type SisimaiRecipient,
} from '../support/sisimai.ts';

/**
 * Our classifier held against the reference one (Sisimai 4.25): over every report of the corpus,
 * and over the DSNs a real Postfix writes for each enhanced status code of IANA's registry.
 * Every disagreement must be in the checked-in table with the reason ours is right; an entry
 * the classifiers no longer disagree on must leave the table.
 */
interface Disagreement {
  message: string;
  recipient: string;
  /** Our decision, or 'none' when we named no such recipient. */
  ours: string;
  /** Sisimai's reason, or 'none' when it named no such recipient. */
  sisimai: string;
}

interface TableEntry extends Disagreement {
  why: string;
}

const TABLE = `${BOUNCE_FIXTURES}sisimai-disagreements.json`;
const table = (): TableEntry[] => JSON.parse(readFileSync(TABLE, 'utf8')) as TableEntry[];
const keyOf = (d: Disagreement) => `${d.message} ${d.recipient.toLowerCase()} ours=${d.ours} sisimai=${d.sisimai}`;

/** Where our decisions on one message fall in another family than Sisimai's, recipient by recipient. */
function disagreements(message: string, ours: BounceReport, theirs: SisimaiRecipient[]): Disagreement[] {
  const found: Disagreement[] = [];
  const mine = new Map(ours.recipients.map((r) => [r.address.toLowerCase(), r.decision]));
  for (const r of theirs.filter((t) => t.reason !== 'delivered')) {
    const recipient = r.recipient.toLowerCase();
    const decision = mine.get(recipient);
    mine.delete(recipient);
    if (decision === undefined || ourFamily(decision) !== sisimaiFamily(r))
      found.push({ message, recipient, ours: decision ?? 'none', sisimai: r.reason });
  }
  for (const [recipient, decision] of mine) found.push({ message, recipient, ours: decision, sisimai: 'none' });
  return found;
}

/** The disagreements the table does not explain, and the table's entries for these messages no longer seen. */
function unexplained(found: Disagreement[], messages: (m: string) => boolean) {
  const explained = new Map(
    table()
      .filter((e) => messages(e.message))
      .map((e) => [keyOf(e), e]),
  );
  const seen = new Set(found.map(keyOf));
  return {
    missing: found.filter((d) => !explained.has(keyOf(d)) || !explained.get(keyOf(d))!.why.trim()),
    stale: [...explained.keys()].filter((k) => !seen.has(k)),
  };
}

const IANA = JSON.parse(readFileSync(`${BOUNCE_FIXTURES}iana-enhanced-status-codes.json`, 'utf8')) as {
  codes: { code: string; description: string }[];
};
const ALL_CODES = ['4', '5'].flatMap((cls) =>
  IANA.codes.map(({ code, description }) => ({ code: code.replace(/^X/, cls), description })),
);
// Refusals a server gives after it has seen the message (its media, its size): after DATA.
const AFTER_DATA = (code: string) => /^\d\.(6\.\d+|2\.3|3\.4)$/.test(code);
const rcptOf = (code: string) => `rcpt-${code}@mx.test`;
const codeOf = (address: string) => /^rcpt-(\d\.\d+\.\d+)@/i.exec(address)?.[1];
const describe_ = (code: string) => ALL_CODES.find((c) => c.code === code)!.description;
const refusal = (code: string) =>
  Object.assign(new Error(`${code} ${describe_(code)}`), { responseCode: code.startsWith('4') ? 450 : 550 });

let postfix: PostfixInstance | undefined;
let mx: SMTPServer | undefined;
const dsns: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'paperboy-sisimai-'));

/** The recipients' mail server: refuses each rcpt-<code> with its code (at RCPT, or after DATA), keeps the DSNs. */
async function startRecipientSide(port: number): Promise<SMTPServer> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onRcptTo(address, _session, cb) {
      const code = codeOf(address.address);
      cb(code && !AFTER_DATA(code) ? refusal(code) : undefined);
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const code = session.envelope.rcptTo.map((r) => codeOf(r.address)).find(Boolean);
        if (code) return cb(refusal(code));
        dsns.push(Buffer.concat(chunks).toString('latin1'));
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

beforeAll(() => {
  const missing = sisimaiUnavailable();
  if (missing) throw new Error(`the differential test needs the reference classifier: ${missing}`);
});

afterAll(async () => {
  await postfix?.stop();
  await new Promise<void>((resolve) => (mx ? mx.close(() => resolve()) : resolve()));
  rmSync(work, { recursive: true, force: true });
}, 30_000);

describe('our classifier against the reference classifier (Sisimai 4.25)', () => {
  it('when both read every report of the corpus, then each disagreement is in the table with its reason', async () => {
    const files = bounceMailFiles();
    const theirs = sisimaiVerdicts(files.map((f) => `${BOUNCE_MAIL}${f}`));
    const found: Disagreement[] = [];
    for (const file of files) {
      found.push(...disagreements(file, await parseReport(readFileSync(`${BOUNCE_MAIL}${file}`)), theirs[file]!));
    }
    const { missing, stale } = unexplained(found, (m) => m.endsWith('.eml'));
    expect(missing, `disagreements not in ${TABLE}`).toEqual([]);
    expect(stale, `entries of ${TABLE} the classifiers now agree on`).toEqual([]);
  });

  it("when a real Postfix bounces a refusal with each of IANA's enhanced status codes, then each disagreement is in the table with its reason", async () => {
    const missing = postfixUnavailable();
    if (missing) throw new Error(`this test needs a real Postfix: ${missing}`);
    const port = await freePort();
    mx = await startRecipientSide(port);
    postfix = await startPostfix(
      { 'mx.test': `smtp:[127.0.0.1]:${port}`, 'bounce.test': `smtp:[127.0.0.1]:${port}` },
      // A 4.x.x refusal is returned after the first attempt, as one that outlived the queue.
      { settings: { maximal_queue_lifetime: '0', bounce_queue_lifetime: '0' } },
    );
    const smtp = createTransport({ host: '127.0.0.1', port: postfix.port, secure: false, ignoreTLS: true, pool: true });
    // One message per code: Sisimai 4.25 gives every recipient of a Postfix DSN the last one's reply.
    await Promise.all(
      ALL_CODES.map(({ code }) =>
        smtp.sendMail({
          envelope: { from: 'probe@bounce.test', to: [rcptOf(code)] },
          from: 'probe@bounce.test',
          to: rcptOf(code),
          subject: `refusal ${code}`,
          text: 'A probe.',
        }),
      ),
    );
    smtp.close();
    const named = () =>
      new Set(
        dsns.flatMap((d) => [...d.matchAll(/^Final-Recipient: rfc822; ?(\S+)/gim)].map((m) => m[1]!.toLowerCase())),
      );
    await waitFor(
      () => (ALL_CODES.every(({ code }) => named().has(rcptOf(code))) ? true : null),
      45_000,
      () => `Postfix did not return every refusal (${named().size} of ${ALL_CODES.length}):\n${postfix!.log()}`,
    );

    const paths = dsns.map((dsn, i) => {
      const path = join(work, `postfix-dsn-${i}.eml`);
      writeFileSync(path, dsn, 'latin1');
      return path;
    });
    const theirs = sisimaiVerdicts(paths);
    const found: Disagreement[] = [];
    for (const [i, path] of paths.entries()) {
      const ours = await parseReport(readFileSync(path));
      for (const d of disagreements('postfix', ours, theirs[`postfix-dsn-${i}.eml`]!))
        found.push({ ...d, message: `postfix ${codeOf(d.recipient) ?? ''}`.trim() });
    }
    const result = unexplained(found, (m) => m.startsWith('postfix'));
    expect(result.missing, `disagreements not in ${TABLE}`).toEqual([]);
    expect(result.stale, `entries of ${TABLE} the classifiers now agree on`).toEqual([]);
  }, 90_000);
});
