import { escapeHtml } from '../html.ts';
import type { Anchors, CompiledTemplate } from './template-cache.ts';

/**
 * Placeholders: {{name}} in a template, filled with values that are already escaped. escapeHtml
 * escapes `{` too, so a paper title can never smuggle in a placeholder that a later fill (the
 * recipient's links) would fill.
 */

/** A template that does not compile: thrown by loadTemplates so a broken template fails the boot. */
export class TemplateError extends Error {}

/** Placeholders filled per recipient, after compilation: they must survive template filling. */
const LATE_PLACEHOLDERS = new Set(['unsubscribe_url', 'preferences_url', 'confirm_url']);

/** Fills {{name}} placeholders with trusted, already escaped values; unknown names are template bugs. */
export function fill(name: string, source: string, values: Record<string, string>): string {
  return source.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => {
    if (key in values) return values[key]!;
    if (LATE_PLACEHOLDERS.has(key)) return whole;
    throw new TemplateError(`${name}: unknown placeholder ${whole}`);
  });
}

export function fillLinks(s: string, values: Record<string, string>, encode: (v: string) => string): string {
  return s.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => (key in values ? encode(values[key]!) : whole));
}

export const link = (url: string, label: string, attributes = '') =>
  `<a href="${escapeHtml(url)}"${attributes}>${escapeHtml(label)}</a>`;
export const linkToPlaceholder = (name: string, label: string, attributes = '') =>
  `<a href="{{${name}}}"${attributes}>${escapeHtml(label)}</a>`;

/**
 * The values of these placeholders hold links, and MJML's CSS inlining (mj-style inline) gives a
 * link the styles its place calls for: a link filled in after compiling must carry them already.
 * Each is compiled holding a probe link, whose attributes are learnt and the placeholder put back.
 */
const LINK_SLOTS = /\{\{(reason|links)\}\}/g;
const PROBE = /<a href="\{\{(reason|links)\}\}"([^>]*)>probe<\/a>/g;
export const withProbes = (source: string) => source.replace(LINK_SLOTS, '<a href="{{$1}}">probe</a>');
export function learnAnchors(html: string): CompiledTemplate {
  const anchors: Anchors = {};
  const plain = html.replace(PROBE, (_, slot: keyof Anchors, attributes: string) => {
    anchors[slot] = attributes;
    return `{{${slot}}}`;
  });
  return { html: plain, anchors };
}
