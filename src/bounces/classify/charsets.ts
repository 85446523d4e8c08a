/**
 * Japanese mail systems often send their reports in ISO-2022-JP (7-bit, with escape sequences)
 * or in raw 8-bit Shift_JIS or EUC-JP, without a charset label in any header: the MIME parser
 * would read them as UTF-8 and the words would be lost. Such a message is re-encoded as UTF-8
 * before it is parsed; a labelled one is left to the parser, which decodes what the label says.
 */
const LABELLED = /charset\s*=/i;
// ESC $ B and ESC $ @: the switches to JIS X 0208 that ISO-2022-JP text carries (RFC 1468).
const JIS_SWITCH = /\x1b\$[B@]/;

const decodes = (bytes: Buffer, charset: string): string | undefined => {
  try {
    return new TextDecoder(charset, { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
};

/** The message as UTF-8 when its text is in an unlabelled Japanese charset; otherwise as given. */
export function decodeUnlabelled(raw: Buffer | string): Buffer | string {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
  const source = typeof raw === 'string' ? raw : raw.toString('latin1');
  if (LABELLED.test(source)) return raw;
  if (JIS_SWITCH.test(source)) return Buffer.from(new TextDecoder('iso-2022-jp').decode(bytes), 'utf8');
  // Only a Buffer holds 8-bit bytes of an unknown charset; a string is already text.
  if (typeof raw === 'string' || !bytes.some((b) => b >= 0x80) || decodes(bytes, 'utf-8') !== undefined) return raw;
  // EUC-JP first: Shift_JIS would read its bytes as half-width katakana, not fail on them.
  const text = decodes(bytes, 'euc-jp') ?? decodes(bytes, 'shift_jis');
  return text === undefined ? raw : Buffer.from(text, 'utf8');
}
