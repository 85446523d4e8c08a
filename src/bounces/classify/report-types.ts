/**
 * What a newsletter does about one failed recipient (see the bounce fixtures' README for the policy):
 * `sender` is a refusal about the sender (reputation, spam, policy, authentication, rate, the
 * sender's address), never held against the reader; `delayed` is a warning that delivery goes on.
 */
export type BounceDecision = 'hard' | 'soft' | 'complaint' | 'ignore' | 'sender' | 'delayed';
export type ReportKind = 'dsn' | 'arf' | 'autoreply' | 'unknown';

export interface FailedRecipient {
  address: string;
  /** RFC 3463 enhanced status code, e.g. '5.1.1'. */
  status?: string;
  diagnostic?: string;
  action?: string;
  decision: BounceDecision;
  /** Short rule name, e.g. 'user-unknown', 'mailbox-full', 'blocked', 'feedback', 'vacation'. */
  reason: string;
}

export interface BounceReport {
  kind: ReportKind;
  /** One entry per failed recipient; complaints and auto-replies: the reporting/original recipient. */
  recipients: FailedRecipient[];
  /** How many more failed recipients the report named beyond the ones returned (a cap bounds the work per report). */
  droppedRecipients?: number;
  /** Addresses the report was sent to (To/Delivered-To/X-Original-To/Envelope-To): where a VERP address appears. */
  envelopeTo: string[];
  /** Message-ID of the returned original, when the report carries it. */
  originalMessageId?: string;
  /** URLs from the returned original's List-Unsubscribe header. */
  originalListUnsubscribe?: string[];
  /**
   * The address in the returned original's Return-Path: its envelope sender. Feedback-loop
   * reports hide the recipient but keep it, and ours is a signed VERP address.
   */
  originalReturnPath?: string;
  /** ARF Feedback-Type (RFC 5965). */
  feedbackType?: string;
  subject?: string;
  from?: string;
  messageId?: string;
}

export interface FailureInput {
  status?: string;
  diagnostic?: string;
  action?: string;
  /** The SMTP command the refusal answered ('RCPT', 'DATA'), when the report's format tells it. */
  command?: string;
}

export interface FailureDecision {
  decision: BounceDecision;
  reason: string;
}

/** A report the parser will not read: it exceeds a cap on its shape (MIME parts, forwarding depth, size). */
export class ReportRefused extends Error {
  override name = 'ReportRefused';
  constructor(
    readonly cap: 'parts' | 'depth' | 'size',
    message: string,
  ) {
    super(message);
  }
}
