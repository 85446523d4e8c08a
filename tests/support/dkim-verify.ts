import { createHash, verify, type KeyObject } from 'node:crypto';

/**
 * A DKIM verifier for tests (RFC 6376), written against the RFC rather than against the signer:
 * simple and relaxed canonicalization of header and body, rsa-sha256, no DNS (the public key is
 * given). Enough to tell that a message arrives signed and unaltered.
 */
export interface DkimResult {
  ok: boolean;
  reason?: string;
  tags: Record<string, string>;
}

export function verifyDkim(raw: Buffer, publicKey: KeyObject): DkimResult {
  const text = raw.toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split + 2);
  const body = split < 0 ? '' : text.slice(split + 4);
  const fields = head
    .split(/\r\n(?![ \t])/)
    .filter(Boolean)
    .map((f) => ({ name: f.slice(0, f.indexOf(':')), field: f }));
  const signature = fields.find((f) => f.name.toLowerCase() === 'dkim-signature');
  if (!signature) return { ok: false, reason: 'no DKIM-Signature', tags: {} };
  const tags = Object.fromEntries(
    signature.field
      .slice(signature.field.indexOf(':') + 1)
      .split(';')
      .map((t) => t.trim())
      .filter(Boolean)
      .map((t) => [t.slice(0, t.indexOf('=')).trim(), t.slice(t.indexOf('=') + 1).replace(/\s+/g, '')]),
  );
  if (tags.a !== 'rsa-sha256') return { ok: false, reason: `algorithm ${tags.a}`, tags };
  const [headerCanon = 'simple', bodyCanon = 'simple'] = (tags.c ?? 'simple/simple').split('/');

  const bodyHash = createHash('sha256').update(canonicalBody(body, bodyCanon), 'latin1').digest('base64');
  if (bodyHash !== tags.bh) return { ok: false, reason: `body hash ${bodyHash} != bh ${tags.bh}`, tags };

  // Each name in h= takes the next instance of that field from the bottom (RFC 6376 §5.4.2).
  const used = new Map<string, number>();
  let data = '';
  for (const name of (tags.h ?? '').split(':').map((n) => n.trim().toLowerCase())) {
    const instances = fields.filter((f) => f.name.toLowerCase() === name && f !== signature);
    const n = used.get(name) ?? 0;
    used.set(name, n + 1);
    const f = instances[instances.length - 1 - n];
    if (f) data += canonicalHeader(f.field, headerCanon) + '\r\n';
  }
  data += canonicalHeader(signature.field.replace(/(\bb=)[^;]*/, '$1'), headerCanon);
  const ok = verify('sha256', Buffer.from(data, 'latin1'), publicKey, Buffer.from(tags.b ?? '', 'base64'));
  return ok ? { ok, tags } : { ok, reason: 'signature does not verify', tags };
}

function canonicalHeader(field: string, how: string): string {
  if (how === 'simple') return field;
  const colon = field.indexOf(':');
  const name = field.slice(0, colon).trim().toLowerCase();
  const value = field
    .slice(colon + 1)
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
  return `${name}:${value}`;
}

function canonicalBody(body: string, how: string): string {
  let lines = body.split('\r\n');
  if (how === 'relaxed') lines = lines.map((l) => l.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  if (!lines.length) return how === 'relaxed' ? '' : '\r\n';
  return lines.join('\r\n') + '\r\n';
}
