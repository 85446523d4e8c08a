/**
 * The few header fields the intake reads before (or instead of) parsing a report, straight from
 * the raw bytes: the top-level header section only, unfolded, bounded in what it reads.
 */
const HEAD_LIMIT = 64 * 1024;

function headerSection(raw: Buffer): string {
  const head = raw.subarray(0, Math.min(raw.length, HEAD_LIMIT)).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  return end < 0 ? head : head.slice(0, end);
}

/** The values of every top-level header field with one of these (lowercase) names, unfolded. */
function headerValues(raw: Buffer, names: readonly string[]): string[] {
  const values: string[] = [];
  let current: { name: string; value: string } | undefined;
  const flush = () => {
    if (current && names.includes(current.name)) values.push(current.value.trim());
    current = undefined;
  };
  for (const line of headerSection(raw).split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && current) {
      current.value += ` ${line.trim()}`;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    if (colon > 0) current = { name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1) };
  }
  flush();
  return values;
}

/** The Message-ID header of a raw message, in angle brackets (the report's key is needed before parsing). */
export function headerMessageId(raw: Buffer): string | undefined {
  const value = headerValues(raw, ['message-id'])[0]?.replace(/\s+/g, '').replace(/^<|>$/g, '');
  return value ? `<${value}>` : undefined;
}

/**
 * Whom the message was delivered to: the SMTP envelope when the receiver took it, else what the
 * delivering server recorded (Delivered-To, X-Original-To) — never To or Cc, which the sender wrote.
 * Lowercase, without angle brackets.
 */
export function envelopeRecipients(raw: Buffer, rcptTo: readonly string[] | undefined): string[] {
  const given = rcptTo ?? headerValues(raw, ['delivered-to', 'x-original-to']);
  return given
    .map((a) =>
      a
        .trim()
        .replace(/^<(.*)>$/, '$1')
        .toLowerCase(),
    )
    .filter(Boolean);
}
