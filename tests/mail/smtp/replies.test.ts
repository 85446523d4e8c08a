import { describe, expect, it } from 'vitest';
import { classifySmtpError, describeSmtpError } from '../../../src/mail/smtp/replies.ts';

const smtp = (responseCode: number, response: string, code = 'EENVELOPE', command = 'RCPT TO') =>
  Object.assign(new Error(response), { code, responseCode, response, command });

describe('classifySmtpError', () => {
  it.each([
    [smtp(550, '550 5.1.1 <x@example.com>: Recipient address rejected: User unknown'), 'recipient'],
    [smtp(552, '552 5.2.2 Mailbox full'), 'recipient'],
    // About the sender, but refused for this recipient: the recipient fails, the run goes on.
    [smtp(554, '554 5.7.1 <pia@example.com>: Recipient address rejected: Access denied'), 'recipient'],
    [smtp(550, '550 5.7.26 Unauthenticated email from example.org is not accepted due to DMARC policy'), 'recipient'],
    [smtp(554, '554 5.7.1 Message rejected as spam', 'EMESSAGE', 'DATA'), 'recipient'],
    [
      smtp(553, '553 5.7.1 <digest@example.org>: Sender address rejected: not owned by user', 'EENVELOPE', 'MAIL FROM'),
      'policy',
    ],
    [smtp(554, '554 5.7.1 Service unavailable; Client host blocked', 'EENVELOPE', 'MAIL FROM'), 'policy'],
    [smtp(535, '535 Authentication credentials invalid', 'EAUTH', 'AUTH PLAIN'), 'policy'],
    [smtp(530, '530 Must issue a STARTTLS command first'), 'policy'],
    [smtp(451, '451 4.3.0 Temporary lookup failure', 'EENVELOPE', 'MAIL FROM'), 'transient'],
    [smtp(451, '451 4.7.1 Greylisted, try again later'), 'transient'],
    [smtp(421, '421 4.7.0 Too many connections', 'EPROTOCOL'), 'transient'],
    [smtp(503, '503 5.5.1 Bad sequence of commands'), 'transient'],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2525'), { code: 'ECONNECTION' }), 'connection'],
    [Object.assign(new Error('Greeting never received'), { code: 'ETIMEDOUT' }), 'connection'],
    [Object.assign(new Error('socket hang up'), { code: 'ESOCKET' }), 'connection'],
    [new Error('something odd'), 'transient'],
    ['not even an error', 'transient'],
  ] as const)('%s → %s', (err, kind) => {
    expect(classifySmtpError(err)).toBe(kind);
  });

  it('when the server said something, then that is what the ledger keeps, on one line', () => {
    expect(describeSmtpError(smtp(550, '550 5.1.1 no\r\n such user'))).toBe('550 5.1.1 no such user');
    expect(describeSmtpError(new Error('connect ECONNREFUSED'))).toBe('connect ECONNREFUSED');
  });
});
