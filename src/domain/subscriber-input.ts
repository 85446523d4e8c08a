import { z } from 'zod';
import { DIGEST_SIZES, isDigestSize, type DigestSize } from '../config.ts';
import { CADENCES } from '../model/cadence.ts';
import { canonicalTimeZone, DELIVERY_HOURS } from './time-zones.ts';

/**
 * What a subscriber may give us, checked the same way wherever it comes from: the subscribe and
 * preferences routes and the operators' CSV import share these schemas, so an address the web
 * form refuses can't come in through a file either. Messages are sentences for the person who typed.
 */

// 254 octets is the longest address that fits in an SMTP forward-path (RFC 5321 §4.5.3.1.3).
export const emailSchema = z
  .string({ error: 'Please enter your email address.' })
  .refine((s) => !/[\r\n]/.test(s), { error: 'An email address cannot contain line breaks.', abort: true })
  .transform((s) => s.trim())
  .pipe(
    z
      .string()
      .min(1, { error: 'Please enter your email address.' })
      .max(254, { error: 'That email address is too long (254 characters at most).' })
      .pipe(z.email({ error: 'That does not look like an email address (for example: ada@example.org).' })),
  );

const SIZE_MESSAGE = `Number of papers must be ${DIGEST_SIZES.slice(0, -1).join(', ')} or ${DIGEST_SIZES.at(-1)}.`;

/** Form fields and CSV cells arrive as text, hence the coercion. */
export const digestSizeSchema = z.coerce
  .number({ error: SIZE_MESSAGE })
  .refine(isDigestSize, { error: SIZE_MESSAGE })
  .transform((n) => n as DigestSize);

export const cadenceSchema = z.enum(CADENCES, { error: 'How often must be daily or weekly.' });

const ZONE_MESSAGE = 'Time zone must be a time zone name such as Europe/Berlin or America/New_York.';
const MAX_ZONE_LENGTH = 64;

/** Any name `Intl` knows, aliases included, stored under the zone's current IANA name. */
export const timezoneSchema = z.string({ error: ZONE_MESSAGE }).transform((s, ctx) => {
  const zone = s.length <= MAX_ZONE_LENGTH ? canonicalTimeZone(s.trim()) : undefined;
  if (zone) return zone;
  const given = s.length <= MAX_ZONE_LENGTH ? ` (not ${JSON.stringify(s)})` : '';
  ctx.addIssue({ code: 'custom', message: `${ZONE_MESSAGE.slice(0, -1)}${given}.` });
  return z.NEVER;
});

const HOUR_MESSAGE = `Delivery hour must be a whole hour from ${DELIVERY_HOURS[0]} to ${DELIVERY_HOURS.at(-1)}.`;

/** The local hour the digest arrives at; the form sends it as text ("07"). */
export const deliveryHourSchema = z.coerce
  .number({ error: HOUR_MESSAGE })
  .int({ error: HOUR_MESSAGE })
  .min(DELIVERY_HOURS[0], { error: HOUR_MESSAGE })
  .max(DELIVERY_HOURS.at(-1)!, { error: HOUR_MESSAGE });

const MAX_KEYWORDS = 10;
const MAX_KEYWORD_LENGTH = 40;
const KEYWORD = /^[\p{L}\p{N}][\p{L}\p{N} .+#/-]*$/u;

/**
 * Comma-separated keywords, stored normalised (trimmed, lower-case, de-duplicated, joined by ",")
 * so that equal preferences are equal strings: the sender compiles one digest per distinct value.
 */
export const keywordsSchema = z
  .string({ error: 'Keywords must be text.' })
  .max(MAX_KEYWORDS * (MAX_KEYWORD_LENGTH + 2), { error: 'Keywords are too long.' })
  .transform((s) => [
    ...new Set(
      s
        .split(',')
        .map((k) => k.trim().replace(/\s+/g, ' ').toLowerCase())
        .filter(Boolean),
    ),
  ])
  .refine((ks) => ks.length <= MAX_KEYWORDS, { error: `Please give at most ${MAX_KEYWORDS} keywords.` })
  .refine((ks) => ks.every((k) => k.length <= MAX_KEYWORD_LENGTH && KEYWORD.test(k)), {
    error: `Keywords are words of letters and digits (at most ${MAX_KEYWORD_LENGTH} characters each), separated by commas.`,
  })
  .transform((ks) => ks.join(','));

/** Optional fields arrive as "" from an HTML form: that means "not given". */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/** Zone and hour: "" (the form's first option) or null means "the list's default", stored as NULL. */
const unsetOr = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? null : v), schema.nullable().optional());

const unknownFields = {
  error: (i: { code: string; keys?: string[] }) =>
    i.code === 'unrecognized_keys' ? `Unknown field: ${i.keys?.join(', ')}.` : undefined,
};

export const subscribeSchema = z.strictObject(
  {
    email: emailSchema,
    digest_size: optional(digestSizeSchema),
    keywords: optional(keywordsSchema),
    cadence: optional(cadenceSchema),
    timezone: unsetOr(timezoneSchema),
    delivery_hour: unsetOr(deliveryHourSchema),
    // The honeypot: hidden from people by CSS, filled in by form-filling bots.
    website: z.string().max(1000).optional(),
  },
  unknownFields,
);

/**
 * On the preferences page an empty keywords field means "all papers", so "" is kept; an empty zone
 * or hour goes back to the list's default. A field left out keeps its value.
 */
export const preferencesSchema = z.strictObject(
  {
    digest_size: optional(digestSizeSchema),
    keywords: keywordsSchema.optional(),
    cadence: optional(cadenceSchema),
    timezone: unsetOr(timezoneSchema),
    delivery_hour: unsetOr(deliveryHourSchema),
  },
  unknownFields,
);

export type SubscribeInput = z.infer<typeof subscribeSchema>;
export type PreferencesInput = z.infer<typeof preferencesSchema>;
