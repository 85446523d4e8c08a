/**
 * HTML escaping for text and attribute values from outside (addresses, keywords, titles). `{` is
 * escaped too, so outside text can never form a {{placeholder}} that a later fill step replaces.
 */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'{]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A piece of HTML that is already safe, so `html` does not escape it again. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString() {
    return this.value;
  }
}

/** Tagged template: every interpolated value is escaped unless it is SafeHtml (or a list of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    const parts = Array.isArray(v) ? v : [v];
    out += parts
      .map((p) => (p instanceof SafeHtml ? p.value : p === undefined || p === null || p === false ? '' : escapeHtml(p)))
      .join('');
    out += strings[i + 1] ?? '';
  });
  return new SafeHtml(out);
}
