import { any, type BounceRule } from './bounce-rule.ts';
import { SENDER_RULES } from './sender-rules.ts';

// Providers' ways of saying "there is no such mailbox here".
const USER_UNKNOWN = any(
  'user ?unknown',
  'unknown (user|recipient|mailbox|address|local[- ]part|e-?mail)',
  'no such (user|mailbox|recipient|address|person|account|local user)',
  "(user|recipient|mailbox|address|account|addressee|e-?mail address|person)( name)? (does|do) ?(not|n't) exist",
  '(user|recipient|mailbox|address|account) (not|was not|could not be) (found|known|exist|listed|recognized)',
  'invalid (recipient|address|mailbox|user|e-?mail|account)',
  'not a valid (recipient|user|mailbox|address)',
  'is not a known user',
  'no mailbox',
  'mailbox unavailable',
  'mailbox not (available|found)',
  'unknown or illegal alias',
  'recipient (address )?rejected',
  'address rejected',
  'bad (recipient|destination|address|mailbox)',
  'no account',
  'not listed in',
  'name is not recognized',
  'not our customer',
  'not exist',
  'no one at this address',
  'is not (a )?(local|valid)',
  "doesn't have an? .{0,60}account",
  'nonexistent',
  'non-existent',
  'utilisateur inconnu',
  'unbekannt',
  'unroutable address',
  'recipient not (ok|found|accepted)',
  'address (is )?(unknown|invalid|does not)',
  'badrcptto',
  'validrcptto',
  'no valid recipients(?! from)',
  'not a valid mailbox',
  "user doesn't",
  'addressee unknown',
  'unknown in',
  'archived recipient',
  "can't accept user",
  'addresses were unknown',
  'server rejected recipients',
  'nessun utente simile',
  'account unavailable',
  'valid recipients, bye',
  'invalid-recipient',
  'your envelope recipient has been denied',
  "user's email name is not found",
  'address no longer accepts mail',
  'badrecipientto',
  'missing home directory',
  'is not an active address at this host',
  'no account by that name here',
  'no mail box available for this user',
  'no mailbox by that name is currently available',
  'no matches to nameserver query',
  'no such person at this address',
  'refuses to accept your mail',
  'the following recipients was undeliverable',
  'no existe (dicha persona|ese usuario)',
  'invalid or unknown virtual user',
  "that domain or user isn't in my list of allowed rcpthosts",
);

// "This domain has no mail server": DNS answers quoted by the MTAs, and the providers' words.
const HOST_UNKNOWN = any(
  'invalid domain',
  "couldn't find (a mail exchanger|any host)",
  'domain is not reachable',
  'host (or domain name )?(unknown|not found)',
  'unknown host',
  'domain (name )?(not found|does not exist|unknown|is invalid|must exist)',
  'no such domain',
  'unrouteable domain',
  'unrouteable address',
  'name or service not known',
  'nxdomain',
  'illegal host',
  'non-existent (host|domain)',
  'all relevant mx records point to non-existent',
  'no route for current request',
  'not a registered domain',
  'unknown domain',
  'domain name not',
  'remote domain doesn.?t exist',
  'smtpsend\\.dns\\.nonexistentdomain',
  'dns server returned answer with no data',
  'host unreachable',
  'mail domain mentioned in email address is unknown',
  'the account or domain may not exist',
  'unroutable address',
);

/**
 * The soft reasons about the mailbox itself (full or over quota, disabled for a while, greylisting
 * given up on): only these count towards a soft-bounce suppression. The other soft failures (a
 * delivery that expired, the network, the receiving host's own faults, a message too big) say
 * nothing lasting about the reader's address.
 */
export const MAILBOX_REASONS: readonly string[] = ['mailbox-full', 'suspended', 'greylisted'];

/**
 * Ordered: the specific before the general, the text before the bare code.
 *
 * Why text first: servers wrap every refusal in "550" or "5.0.0", and many put a sender-side
 * refusal (reputation, spam, DMARC) under a recipient code such as 5.1.1 or behind "mailbox
 * unavailable". A 5.x.x about the *sender* must never suppress a reader, so the rows that say
 * "this is about the sender" come before the rows that say "this address does not exist",
 * and only then do bare codes decide.
 */
export const BOUNCE_RULES: readonly BounceRule[] = [
  // A warning that the MTA is still trying (RFC 3464 'delayed', OpenSMTPD's "temporary failure
  // report", Sendmail's "still undelivered") is not a verdict on the address yet.
  {
    reason: 'delayed',
    decision: 'delayed',
    phrase: any(
      'temporary failure report',
      'only a temporary',
      'will (keep|continue) trying',
      'will (be )?retr(y|ied)',
      'still (being )?(trying|retried|undelivered)',
      'kept in the queue',
      'delivery (attempts )?will continue',
      'not yet been delivered',
    ),
  },
  // Orange and La Poste number their verdicts ("550 5.1.1 ofr_416", "LPN007_416"): 416 and 418
  // are "no such mailbox", every other number is about the sender, the content or the volume.
  { reason: 'user-unknown', decision: 'hard', phrase: /\b(lpn|lpnaaa|ofr|ouk)(_|\d{3}[-_])41[68]\b/ },
  { reason: 'provider-code', decision: 'sender', phrase: /\b(lpn|lpnaaa|ofr|ouk)(_\d{3}|\d{3}[-_]\d{3})\b/ },
  // GoDaddy's numbered refusals ("… too many recipients this hour. IB607") are all about the
  // sending host (reputation, volume, SPF, content), also when the reply says 5.1.1.
  { reason: 'provider-code', decision: 'sender', phrase: /\sib\d{3}\b/ },
  // Cox's (CXBL, IPBL0001, URLBL011…) and Spectrum's (AUP#1260) codes: all about the sender.
  {
    reason: 'provider-code',
    decision: 'sender',
    phrase: /\b(cxbl|cxthrt|cxmj|cxdns|cxsndr|cxsmtp|cxcnct|cxmxrt|cdrbl|ipbl\d{4,5}|urlbl\d{3,4})\b|aup#[-a-z]*\d{4}/,
  },
  // Tencent QQ's directory answer carries its help link; its other "mailbox" answers are rate limits.
  { reason: 'user-unknown', decision: 'hard', phrase: /mailbox not found\. https?:\/\/service\.mail\.qq\.com/ },
  // I.UA links each refusal to its error page: err/2 is "user is not found", the rest soft.
  { reason: 'user-unknown', decision: 'hard', phrase: /\.i\.ua\/err\/2\b/ },
  { reason: 'provider-code', decision: 'soft', phrase: /\.i\.ua\/err\/\d+/ },
  // --- Problems of the mailbox that pass: keep the reader. --------------------------------
  // A full mailbox is often sent as 5.1.1 or 5.2.2 with a permanent code; it still empties.
  {
    reason: 'mailbox-full',
    decision: 'soft',
    phrase: any(
      'mailbox (is )?full',
      'mailbox.{0,20}(is )?over (the )?quota',
      'over ?quota',
      'quota (exceeded|violation)',
      'exceed(ed|s|ing)? (the |their |its |his |her )?(storage|quota|disk|mailbox|allowed size)',
      'disk quota',
      'not enough (storage|space)',
      'insufficient (storage|disk space)',
      'storage allocation',
      'mailbox size limit',
      'mail ?box exceeds',
      'mailfolder is full',
      'space has been used up',
      'too many messages (on|in)',
      'user has exceeded',
      'would exceed (the )?maximum allowed storage',
      'as their mailbox is full',
      'is full(?!y)',
      'full mailbox',
      'pleine',
      'quota',
      // The reference's own words for this reason (Sisimai Reason lists).
      'does not have enough space',
      'mailbox exceeded the local limit',
      'too much mail data',
    ),
  },
  {
    reason: 'message-too-big',
    decision: 'soft',
    phrase: any(
      'message (is )?too (large|big)',
      'message size exceeds',
      'size (limit )?exceeds',
      'exceeds (the )?(maximum|size)',
      'message length exceeds',
      'too large for',
      'mail size exceed',
      // The reference's own words for this reason (Sisimai Reason lists).
      'exceeded maximum inbound message size',
      'max message size exceeded',
      'message file too big',
      'size limit',
      'taille limite du message atteinte',
    ),
  },
  // Disabled/suspended accounts may come back (Gmail: "account ... is disabled").
  {
    reason: 'suspended',
    decision: 'soft',
    phrase: any(
      'account (has been |is )?(disabled|suspended|locked|inactive|deactivated|frozen|expired)',
      'mailbox (is |has been |currently )?(disabled|suspended|frozen|inactive|deactivated)',
      'user (is )?(suspended|disabled|inactive|deactivated|terminated)',
      'inactive (user|account|mailbox)',
      'is a deactivated mailbox',
      'temporarily (inactive|suspended)',
      'suspend the service',
      'not active',
      'tried to reach is disabled',
      'has been disabled',
      'temporar(y|ily) (locked|disabled)',
      // The reference's own words for this reason (Sisimai Reason lists).
      'is currently suspended',
      'boite du destinataire archivee',
      'has been suspended',
    ),
  },
  // Greylisting given up on (RFC 6647): the mailbox's own host kept deferring the mail.
  { reason: 'greylisted', decision: 'soft', phrase: any('greylist', 'graylist') },

  // Microsoft's edge refuses a recipient its directory does not know with "5.4.1 Recipient
  // address rejected: Access denied" (its published NDR codes), words the policy rows would take.
  {
    reason: 'user-unknown',
    decision: 'hard',
    status: /^5\.4\.1$/,
    phrase: /recipient address rejected: access denied/,
  },

  // --- About the sender, its IP, its content or its volume: the `sender` kind, never held
  // against the reader (a table of its own: sender-rules.ts).
  ...SENDER_RULES,

  // --- The address cannot receive mail: suppress. -----------------------------------------
  // RFC 3463 x.1.6 "destination mailbox has moved, no forwarding address".
  {
    reason: 'has-moved',
    decision: 'hard',
    phrase: any('has moved', 'has been replaced by', 'no longer (valid|in use|with)', 'no forwarding address'),
  },
  // RFC 7505 null MX and x.1.10: the domain declares it takes no mail at all.
  {
    reason: 'not-accept',
    decision: 'hard',
    status: /^(?!4)/,
    phrase: any(
      'does not accept (e-?mail|mail)',
      'null mx',
      'mail receiving disabled',
      'no mx record found for domain=',
      'domain does not receive',
      'indicated no smtp service',
      'smtp protocol returned a permanent error',
      'destination seem to reject all mails',
      'type=mx: malformed or unexpected name server reply',
    ),
  },
  // A DNS failure the resolver itself calls passing (Sisimai's NetworkError words), whatever the code.
  { reason: 'network-error', decision: 'soft', phrase: any('host not found, try again', 'unrouteable mail domain') },
  // Only when permanent: a 4.x.x DNS failure is often the receiving domain's passing outage.
  { reason: 'host-unknown', decision: 'hard', status: /^(?!4)/, phrase: HOST_UNKNOWN },
  { reason: 'network-error', decision: 'soft', phrase: HOST_UNKNOWN },
  // Words no content filter borrows: a directory lookup that failed (Lotus Domino, Gmail's
  // "Address not found", Exchange's "Invalid recipient").
  {
    reason: 'user-unknown',
    decision: 'hard',
    phrase: any(
      'not listed in (the )?(domino directory|public name)',
      "non répertorié dans l'annuaire domino",
      'domino ディレクトリには見つかりません',
      'ディレクトリのリストにありません',
      'invalid recipient',
      'destinataire invalide',
      'no valid recipients(?! from)',
      'address not found',
      "(address|user|mailbox|recipient) (couldn't|could not|can't|cannot) be found",
      'the email account that you tried to reach does not exist',
      'recipient name is not recognized',
      'recipientnotfound',
      'nosuchuser',
      'not found by smtp address lookup',
      'resolver\\.adr\\.(ex)?recipnotfound',
      // Exchange 2003's code for "Unknown Recipient".
      '000c05a6',
      // "The (destination) e-mail address does not exist", "no such user" (Japanese).
      '(メール)?アドレスは存在しません',
      'ユーザー?(は|が)存在しません',
      '該当するユーザー?(は|が)(存在しません|いません)',
      '宛先不明',
    ),
  },
  // RFC 3463 x.1.x is about the address; at RCPT TO the server judged the address itself.
  // Also under 4.x.x: a report that gave up after repeated "450 4.1.1 user unknown" is final
  // (mere delays are the 'delayed' row and action above). Not x.2.x: "5.2.1 … User Unknown"
  // (Zoho, PowerMTA) is a mailbox that refused the mail, which filters also say after DATA.
  { reason: 'user-unknown', decision: 'hard', status: /^[45]\.1\./, phrase: USER_UNKNOWN },
  { reason: 'user-unknown', decision: 'hard', phrase: USER_UNKNOWN, command: /^RCPT$/ },
  // The same words after DATA, or with neither a code nor the stage: the address may have been
  // accepted and the content refused. Japanese carriers and content filters answer "user
  // unknown" to mail they refuse, so without evidence about the address the reader is kept.
  { reason: 'filtered', decision: 'soft', phrase: USER_UNKNOWN },
  // --- Delivery never completed: retry later. ---------------------------------------------
  {
    reason: 'expired',
    decision: 'soft',
    phrase: any(
      'expired',
      'retry time',
      'retry timeout',
      'in the queue too long',
      'too long in',
      'giving up',
      'given up',
      'could not be delivered (for|within|in)',
      'was not delivered within',
      'delivery time',
      'has been delayed',
    ),
  },
  {
    reason: 'network-error',
    decision: 'soft',
    phrase: any(
      'connection (timed out|refused|reset|lost|closed)',
      'timed? ?out',
      'could not connect',
      'no route to host',
      'network is unreachable',
      'loop',
      'too many hops',
      'hop count',
      'lookup',
      'dns',
    ),
  },
  {
    reason: 'system-error',
    decision: 'soft',
    phrase: any(
      'system (error|full|is full)',
      'internal (server )?error',
      'local configuration (failed|error)',
      'server (error|busy)',
      'service (not available|unavailable)',
      'temporar',
      'try (again )?later',
      'deferred',
      'unable to execute',
      'write error',
      'error:',
      'resources',
      'system storage',
    ),
  },

  // --- No telling phrase: the RFC 3463 code decides. --------------------------------------
  { reason: 'mailbox-full', decision: 'soft', status: /^[45]\.2\.2$/ },
  { reason: 'message-too-big', decision: 'soft', status: /^[45]\.(2\.3|3\.4)$/ },
  { reason: 'suspended', decision: 'soft', status: /^[45]\.2\.1$/ },
  // RFC 3463: x.1.x is about the address (x.1.0 included); x.1.5 says it is valid, x.1.7/x.1.8
  // are the sender's (sender-rules.ts), x.1.9 is about the next hop's software.
  { reason: 'user-unknown', decision: 'hard', status: /^5\.1\.[0134]$/ },
  { reason: 'host-unknown', decision: 'hard', status: /^5\.1\.2$/ },
  { reason: 'has-moved', decision: 'hard', status: /^5\.1\.6$/ },
  // x.4.4 "unable to route": permanent when the domain has no MX nor address at all.
  { reason: 'host-unknown', decision: 'hard', status: /^5\.4\.4$/ },
  { reason: 'not-accept', decision: 'hard', status: /^5\.1\.10$/ },
  { reason: 'expired', decision: 'soft', status: /^[45]\.4\.7$/ },
  { reason: 'network-error', decision: 'soft', status: /^[45]\.4\.\d+$/ },
  // RFC 7293: the mailbox or its domain changed owner since the reader gave it: not theirs any more.
  { reason: 'has-moved', decision: 'hard', status: /^5\.7\.1[78]$/ },
  // x.7.x is "security or policy status" (RFC 3463): about the sender, not the address.
  { reason: 'blocked', decision: 'sender', status: /^[45]\.7\.\d+$/ },
  { reason: 'system-error', decision: 'soft', status: /^[45]\.3\.\d+$/ },
  { reason: 'rejected', decision: 'soft', status: /^5\./ },
  { reason: 'temporary', decision: 'soft', status: /^4\./ },
  { reason: 'undetermined', decision: 'soft' },
];
