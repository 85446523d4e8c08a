import { z } from 'zod';
import { classifyFailure, pickStatus, providerDecision } from './classify.ts';
import type { BounceReport, FailedRecipient } from './report-types.ts';

/**
 * Amazon SES notifications that SNS delivers to an e-mail subscription: the body is the
 * notification's JSON (the "email" protocol, followed by SNS's footer with its unsubscribe URL)
 * or SNS's envelope with that JSON in `Message` ("email-json"). The recipients and verdicts are
 * the JSON's, never addresses found in the text around it.
 */
const recipientsOf = <T extends z.ZodRawShape>(shape: T) => z.array(z.object({ emailAddress: z.string(), ...shape }));

const sesNotification = z
  .object({
    notificationType: z.string().optional(),
    eventType: z.string().optional(),
    mail: z
      .object({
        source: z.string().optional(),
        commonHeaders: z.object({ messageId: z.string().optional() }).optional(),
      })
      .optional(),
    bounce: z
      .object({
        bounceType: z.string(),
        bounceSubType: z.string().optional(),
        bouncedRecipients: recipientsOf({
          action: z.string().optional(),
          status: z.string().optional(),
          diagnosticCode: z.string().optional(),
        }),
      })
      .optional(),
    complaint: z
      .object({ complainedRecipients: recipientsOf({}), complaintFeedbackType: z.string().optional() })
      .optional(),
  })
  // Any other JSON a report quotes is not one.
  .refine((n) => n.notificationType !== undefined || n.eventType !== undefined);
type SesNotification = z.infer<typeof sesNotification>;

/**
 * The first JSON object in a text, found in one pass (strings and escapes followed, braces
 * counted), or undefined.
 */
function firstJsonObject(text: string): unknown {
  const start = text.indexOf('{');
  if (start < 0) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      try {
        return JSON.parse(text.slice(start, i + 1));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function notificationIn(text: string): SesNotification | undefined {
  if (!/notificationType|eventType/.test(text)) return undefined;
  let json = firstJsonObject(text);
  const envelope = z.object({ Type: z.literal('Notification'), Message: z.string() }).safeParse(json);
  if (envelope.success) json = firstJsonObject(envelope.data.Message);
  const parsed = sesNotification.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/**
 * SES's own verdict, as its webhook is read: `Permanent` is hard and `Transient` soft unless the
 * server's words put the refusal on the sender; a specific sub-type other than a content refusal
 * stands.
 */
function bounced(b: NonNullable<SesNotification['bounce']>): FailedRecipient[] {
  const said = b.bounceType === 'Permanent' ? 'hard' : b.bounceType === 'Transient' ? 'soft' : undefined;
  const ownVerdict = !/^(General|Undetermined|ContentRejected|AttachmentRejected)?$/.test(b.bounceSubType ?? '');
  return b.bouncedRecipients.map((r) => {
    const diagnostic = r.diagnosticCode?.replace(/^[\w-]+\s*;\s*/, '');
    const classified = classifyFailure({ status: r.status, diagnostic, action: r.action });
    const decision = ownVerdict && said ? said : providerDecision(said, classified);
    const status = pickStatus(r.status, diagnostic);
    return {
      address: r.emailAddress,
      decision,
      reason: classified.reason,
      ...(status ? { status } : {}),
      ...(diagnostic ? { diagnostic } : {}),
    };
  });
}

/** What an SES notification in a report's text says, or undefined when the text holds none. */
export function sesReport(text: string): Partial<BounceReport> | undefined {
  const n = notificationIn(text);
  if (!n) return undefined;
  const type = n.notificationType ?? n.eventType;
  const messageId = n.mail?.commonHeaders?.messageId?.replace(/^<|>$/g, '').trim();
  const original = {
    ...(messageId ? { originalMessageId: messageId } : {}),
    ...(n.mail?.source ? { originalReturnPath: n.mail.source } : {}),
  };
  if (type === 'Bounce' && n.bounce) return { kind: 'dsn', recipients: bounced(n.bounce), ...original };
  if (type === 'Complaint' && n.complaint) {
    const feedbackType = (n.complaint.complaintFeedbackType ?? 'abuse').toLowerCase();
    // RFC 5965: auth-failure is about our DKIM/SPF, not-spam takes a report back.
    const notOne = feedbackType === 'auth-failure' || feedbackType === 'not-spam';
    const recipients = n.complaint.complainedRecipients.map((r): FailedRecipient => ({
      address: r.emailAddress,
      decision: notOne ? 'ignore' : 'complaint',
      reason: notOne ? feedbackType : 'feedback',
    }));
    return { kind: 'arf', feedbackType, recipients, ...original };
  }
  // A delivery or another event: nothing failed.
  return { kind: 'unknown', recipients: [], ...original };
}
