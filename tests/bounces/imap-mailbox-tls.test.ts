import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ImapFlow } from 'imapflow';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { imapMailbox } from '../../src/bounces/sources/imap-poller.ts';
import { startDovecot, type Dovecot } from '../support/dovecot.ts';

// Dovecot here has no TLS at all (ssl = no): it offers no STARTTLS.
let dovecot: Dovecot;
beforeAll(async () => {
  dovecot = await startDovecot();
}, 30_000);
afterAll(async () => {
  await dovecot?.stop();
});

interface Relay {
  port: number;
  /** Clients that came through. */
  connections(): number;
  /** Every byte the clients sent, as text. */
  sent(): string;
  close(): Promise<void>;
}

/** A TCP relay in front of Dovecot that keeps what the client says, to see whether the password went out. */
async function recordingRelay(target: number): Promise<Relay> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((client) => {
    connections++;
    const upstream = connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (d: Buffer) => chunks.push(d));
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    sent: () => Buffer.concat(chunks).toString('latin1'),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Whether the password is in what the client sent: as LOGIN's argument or inside a base64 SASL response. */
function carriesPassword(sent: string): boolean {
  const decoded = [...sent.matchAll(/[A-Za-z0-9+/]{8,}={0,2}/g)].map((m) =>
    Buffer.from(m[0], 'base64').toString('latin1'),
  );
  return [sent, ...decoded].some((s) => s.includes(dovecot.pass));
}

let relay: Relay;
let client: ImapFlow | undefined;
afterEach(async () => {
  client?.close();
  client = undefined;
  await relay?.close();
});

/** BOUNCE_IMAP_URL for the Dovecot behind the relay. */
async function urlThroughRelay(query = ''): Promise<string> {
  relay = await recordingRelay(dovecot.port);
  return `imap://${dovecot.user}:${dovecot.pass}@127.0.0.1:${relay.port}/INBOX${query}`;
}

describe('BOUNCE_IMAP_URL with imap:// against a real IMAP server without TLS', () => {
  it('when the URL is imap:// and the server offers no STARTTLS, then the connection fails and the password is never sent', async () => {
    const mailbox = imapMailbox(await urlThroughRelay());
    client = new ImapFlow(mailbox.options);
    client.on('error', () => undefined);
    await expect(client.connect()).rejects.toThrow(/STARTTLS/);
    expect(relay.connections()).toBe(1);
    expect(carriesPassword(relay.sent())).toBe(false);
  });

  it('when the URL says ?ignoreTLS=true, then it logs in over plain text and opens the folder', async () => {
    const mailbox = imapMailbox(await urlThroughRelay('?ignoreTLS=true'));
    client = new ImapFlow(mailbox.options);
    await client.connect();
    const box = await client.mailboxOpen(mailbox.path);
    expect(box.path).toBe('INBOX');
    await client.logout();
    // The relay sees the password when it does go out in clear: the test above would notice it.
    expect(carriesPassword(relay.sent())).toBe(true);
  });
});
