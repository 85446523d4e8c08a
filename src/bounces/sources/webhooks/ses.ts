import { z } from 'zod';
import { classifyFailure, providerDecision } from '../../classify/classify.ts';
import { applyProviderBounces, type ProviderBounce, type WebhookDeps } from './provider-events.ts';
import type { SnsVerifier } from './sns.ts';

const header = z.object({ name: z.string(), value: z.string() });

// The documented shape of SES notifications (notificationType) and event publishing (eventType).
const sesNotification = z.object({
  notificationType: z.string().optional(),
  eventType: z.string().optional(),
  mail: z.object({
    messageId: z.string(),
    source: z.string().optional(),
    headers: z.array(header).optional(),
    commonHeaders: z.object({ messageId: z.string().optional(), returnPath: z.string().optional() }).optional(),
  }),
  bounce: z
    .object({
      feedbackId: z.string(),
      bounceType: z.string(),
      bounceSubType: z.string().optional(),
      bouncedRecipients: z.array(
        z.object({
          emailAddress: z.string(),
          action: z.string().optional(),
          status: z.string().optional(),
          diagnosticCode: z.string().optional(),
        }),
      ),
    })
    .optional(),
  complaint: z
    .object({
      feedbackId: z.string(),
      complainedRecipients: z.array(z.object({ emailAddress: z.string() })),
      complaintFeedbackType: z.string().optional(),
    })
    .optional(),
});
type SesNotification = z.infer<typeof sesNotification>;

// "MailboxFull" → "mailbox-full": the classifier's words for the same things.
const kebab = (s: string) => s.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();

/**
 * SES says hard or soft itself: `Permanent` (General, NoEmail, Suppressed,
 * OnAccountSuppressionList) is hard, `Transient` soft, unless the server's words put the refusal
 * on the sender (SES calls a spam block permanent too); `Undetermined` is left to the classifier,
 * from the recipient's status and the server's words. Complaints unsubscribe, except the feedback
 * types that are not one (RFC 5965: auth-failure is about our DKIM/SPF, not-spam takes a report
 * back).
 */
export function sesBounces(notification: SesNotification): ProviderBounce[] {
  const headers = notification.mail.headers ?? [];
  const headerValue = (name: string) => headers.find((h) => h.name.toLowerCase() === name)?.value;
  const envelopeFrom = [
    notification.mail.source,
    notification.mail.commonHeaders?.returnPath,
    headerValue('return-path'),
  ].filter((a): a is string => !!a);
  const common = { envelopeFrom, messageId: notification.mail.commonHeaders?.messageId ?? headerValue('message-id') };
  const type = notification.notificationType ?? notification.eventType;
  if (type === 'Bounce' && notification.bounce) {
    const bounce = notification.bounce;
    return bounce.bouncedRecipients.map((r): ProviderBounce => {
      const classified = classifyFailure({ status: r.status, diagnostic: r.diagnosticCode, action: r.action });
      const said = bounce.bounceType === 'Permanent' ? 'hard' : bounce.bounceType === 'Transient' ? 'soft' : undefined;
      const subType =
        bounce.bounceSubType && !/^(General|Undetermined)$/.test(bounce.bounceSubType)
          ? kebab(bounce.bounceSubType)
          : undefined;
      // SES's own verdict on the address (NoEmail, Suppressed, MailboxFull, …) stands; a general
      // one, or a refusal of the content, is read from the server's words too.
      const ownVerdict = subType !== undefined && !/^(content|attachment)-rejected$/.test(subType);
      const kind = ownVerdict && said ? said : providerDecision(said, classified);
      return {
        ...common,
        recipient: r.emailAddress,
        kind,
        reason: kind === 'sender' || kind === 'delayed' ? classified.reason : (subType ?? classified.reason),
        status: r.status,
        diagnostic: r.diagnosticCode,
        eventId: bounce.feedbackId,
      };
    });
  }
  if (type === 'Complaint' && notification.complaint) {
    const complaint = notification.complaint;
    const feedbackType = complaint.complaintFeedbackType?.toLowerCase();
    const notOne = feedbackType === 'auth-failure' || feedbackType === 'not-spam';
    return complaint.complainedRecipients.map((r) => ({
      ...common,
      recipient: r.emailAddress,
      kind: notOne ? 'ignore' : 'complaint',
      reason: notOne ? feedbackType! : 'feedback',
      eventId: complaint.feedbackId,
    }));
  }
  return [];
}

export type SesCallResult = { status: 'confirmed' | 'ignored' } | { status: 'handled'; events: number };

/**
 * One call from SNS: verified first (nothing is read from an unverified one), then a
 * subscription to one of our topics is confirmed, or the SES notification inside is applied.
 */
export async function handleSesCall(deps: WebhookDeps, sns: SnsVerifier, body: unknown): Promise<SesCallResult> {
  const message = await sns.verify(body);
  if (message.Type === 'SubscriptionConfirmation') {
    await sns.confirm(message);
    deps.logger.info({ topic: message.TopicArn }, 'SES webhook: SNS subscription confirmed');
    return { status: 'confirmed' };
  }
  if (message.Type === 'UnsubscribeConfirmation') {
    deps.logger.warn(
      { topic: message.TopicArn },
      'SES webhook: SNS says this endpoint was unsubscribed from the topic',
    );
    return { status: 'ignored' };
  }
  // Signed by SNS for one of our topics but not an SES notification we know: answering an error
  // would only make SNS retry it.
  let notification: SesNotification;
  try {
    notification = sesNotification.parse(JSON.parse(message.Message));
  } catch {
    deps.logger.warn(
      { topic: message.TopicArn, messageId: message.MessageId },
      'SES webhook: the SNS message is not an SES notification; ignored',
    );
    return { status: 'ignored' };
  }
  const events = applyProviderBounces(deps, 'ses', sesBounces(notification));
  return { status: 'handled', events: events.length };
}
