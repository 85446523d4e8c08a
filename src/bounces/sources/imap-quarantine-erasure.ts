import { ImapFlow } from 'imapflow';
import { imapMailbox } from './imap-poller.ts';

/**
 * Deletes from the bounce mailbox's quarantine folder (BOUNCE_IMAP_QUARANTINE, where the poller
 * moves whole the messages it cannot handle) every message that contains `address`, and returns
 * how many; 0 when the folder does not exist. The server searches (IMAP SEARCH TEXT: headers and
 * body, case-insensitive, after decoding the message's transfer encodings).
 */
export async function eraseFromImapQuarantine(url: string, folder: string, address: string): Promise<number> {
  const client = new ImapFlow(imapMailbox(url).options);
  // A connection that breaks also fails the command in flight, which reports it.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const deleted = await deleteQuoting(client, folder, address);
    await client.logout();
    return deleted;
  } finally {
    client.close();
  }
}

async function deleteQuoting(client: ImapFlow, folder: string, address: string): Promise<number> {
  const folders = await client.list();
  if (!folders.some((f) => f.path === folder)) return 0;
  await client.mailboxOpen(folder);
  const uids = (await client.search({ text: address }, { uid: true })) || [];
  if (uids.length) await client.messageDelete(uids, { uid: true });
  return uids.length;
}
