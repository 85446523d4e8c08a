import type { SMTPServer, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { Logger } from '../../logger.ts';

/**
 * How much of the bounce receiver one client may take. The listener is open to anyone, and the
 * only credential is a signed recipient, so no client may hold it: a place per address, a place in
 * all, a session that makes no progress closed, a session that goes on forever cut off.
 */
export interface SessionLimits {
  /** Sessions one client address may hold at once (BOUNCE_SMTP_MAX_PER_CLIENT). */
  maxPerClient: number;
  /** Sessions in all. */
  maxClients: number;
  /** Commands in one session, every command counted: room for maxMessages at a few commands each. */
  maxCommands: number;
  /** Messages in one session; the next MAIL FROM gets 421 and the sender reconnects. */
  maxMessages: number;
  /** A session that names no accepted recipient and sends no message for this long is closed. */
  idleTimeoutMs: number;
}

/** One address at its cap always leaves this many places for everyone else. */
const ROOM_FOR_OTHERS = 500;

export function sessionLimits(given: Partial<SessionLimits> & Pick<SessionLimits, 'maxPerClient'>): SessionLimits {
  return {
    maxPerClient: given.maxPerClient,
    maxClients: given.maxClients ?? given.maxPerClient + ROOM_FOR_OTHERS,
    maxCommands: given.maxCommands ?? 1000,
    maxMessages: given.maxMessages ?? 100,
    idleTimeoutMs: given.idleTimeoutMs ?? 60_000,
  };
}

type Connection = SMTPServer['connections'] extends Set<infer C> ? C : never;

interface Session {
  id: string;
  client: string;
  connection: Connection;
  commands: number;
  messages: number;
  idle?: NodeJS.Timeout | undefined;
}

interface Client {
  sessions: number;
  /** Connections refused since it last gave a place back: the first one is logged, not the flood. */
  refused: number;
}

const refusal = (message: string) => Object.assign(new Error(message), { responseCode: 421 });

/** The sessions the receiver has let in, by session id and by client address. */
class AdmittedSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly clients = new Map<string, Client>();
  private refusedWhileFull = 0;

  constructor(
    private readonly limits: SessionLimits,
    private readonly log: Logger,
  ) {}

  /** Counts the session in, or says why it may not start (421, then smtp-server closes it). */
  admit(session: SMTPServerSession, connection: Connection | undefined): Error | undefined {
    // smtp-server gives the address normalised (an IPv4 client of a dual-stack listener arrives as
    // ::ffff:a.b.c.d and is counted as a.b.c.d), so one client has one count however it connects.
    const address = session.remoteAddress;
    const client = this.clients.get(address) ?? { sessions: 0, refused: 0 };
    if (client.sessions >= this.limits.maxPerClient) {
      if (client.refused++ === 0) {
        this.log.warn(
          { client: address, maxPerClient: this.limits.maxPerClient },
          'bounce receiver: a client holds BOUNCE_SMTP_MAX_PER_CLIENT connections; more from it get 421 until one closes',
        );
      }
      return refusal('4.7.0 Too many connections from your address, try again later');
    }
    if (this.sessions.size >= this.limits.maxClients) {
      if (this.refusedWhileFull++ === 0) {
        this.log.warn({ maxClients: this.limits.maxClients }, 'bounce receiver: full; new connections get 421');
      }
      return refusal('4.3.2 Too many connections, try again later');
    }
    // smtp-server calls onConnect only for a connection it holds; one already gone has nothing to limit.
    if (!connection) return refusal('4.3.0 Connection gone');
    const admittedSession: Session = { id: session.id, client: address, connection, commands: 0, messages: 0 };
    this.sessions.set(admittedSession.id, admittedSession);
    this.clients.set(address, { ...client, sessions: client.sessions + 1 });
    this.countCommands(admittedSession);
    this.madeProgress(admittedSession);
    return undefined;
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  /** Gives the session's places back; a session that was never let in has none. */
  release(id: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    clearTimeout(session.idle);
    this.sessions.delete(id);
    this.refusedWhileFull = 0;
    const client = this.clients.get(session.client)!;
    if (client.sessions === 1) this.clients.delete(session.client);
    else this.clients.set(session.client, { sessions: client.sessions - 1, refused: 0 });
  }

  /** Starts the idle time again: only what moves mail forward does, NOOP and the like do not. */
  madeProgress(session: Session): void {
    clearTimeout(session.idle);
    session.idle = setTimeout(
      () => this.end(session, '4.4.2 Idle too long, closing connection', 'idle'),
      this.limits.idleTimeoutMs,
    );
    session.idle.unref();
  }

  /** While the receiver works on a message the sender waits for it (RFC 5321 4.5.3.2.6): no idle time. */
  waitingForUs(session: Session): void {
    clearTimeout(session.idle);
    session.idle = undefined;
  }

  /** The refusal of one more message, or undefined while the session is under its cap. */
  messageRefused(session: Session): Error | undefined {
    if (session.messages < this.limits.maxMessages) return undefined;
    this.logEnd(session, 'messages');
    return refusal('4.7.0 Too many messages in one session, reconnect to send more');
  }

  /** Answers 421 and closes (smtp-server closes the connection after any 421). */
  private end(session: Session, reply: string, why: 'idle' | 'commands'): void {
    this.logEnd(session, why);
    session.connection.send(421, reply, false);
  }

  private logEnd(session: Session, why: 'idle' | 'commands' | 'messages'): void {
    this.log.info(
      { client: session.client, why, commands: session.commands, messages: session.messages },
      'bounce receiver: session closed by its limits',
    );
  }

  /**
   * smtp-server has no hook per command, and its own command limit (maxAllowedUnauthenticatedCommands)
   * counts only while AUTH is offered and required, never here. Every command goes through the
   * connection's dispatcher (`_onCommand`, declared in its types), so the count wraps that.
   */
  private countCommands(session: Session): void {
    const dispatch = session.connection._onCommand.bind(session.connection);
    session.connection._onCommand = (command, callback) => {
      if (++session.commands <= this.limits.maxCommands) return dispatch(command, callback);
      this.end(session, '4.7.0 Too many commands in one session, closing connection', 'commands');
    };
  }
}

function connectionOf(server: SMTPServer, id: string): Connection | undefined {
  for (const connection of server.connections) if (connection.id === id) return connection;
  return undefined;
}

/**
 * Puts the limits on a built receiver: its handlers (onConnect, onMailFrom, onRcptTo, onData,
 * onClose) are wrapped, each still called as before once the limits let the session through.
 */
export function limitSessions(server: SMTPServer, limits: SessionLimits, log: Logger): void {
  const admitted = new AdmittedSessions(limits, log);
  const onConnect = server.onConnect.bind(server);
  const onMailFrom = server.onMailFrom.bind(server);
  const onRcptTo = server.onRcptTo.bind(server);
  const onData = server.onData.bind(server);
  const onClose = server.onClose.bind(server);
  server.onConnect = (session, cb) => {
    const refused = admitted.admit(session, connectionOf(server, session.id));
    if (refused) return cb(refused);
    onConnect(session, cb);
  };
  server.onMailFrom = (address, session, cb) => {
    const admittedSession = admitted.get(session.id);
    const refused = admittedSession && admitted.messageRefused(admittedSession);
    if (refused) return cb(refused);
    onMailFrom(address, session, cb);
  };
  server.onRcptTo = (address, session, cb) =>
    onRcptTo(address, session, (err) => {
      const admittedSession = admitted.get(session.id);
      if (admittedSession && !err) admitted.madeProgress(admittedSession);
      cb(err);
    });
  server.onData = (stream, session, cb) => onData(stream, session, answerOnce(admitted, session.id, stream, cb));
  server.onClose = (session, cb) => {
    admitted.release(session.id);
    onClose(session, cb);
  };
}

/**
 * A message is progress, and its bytes must arrive within the idle timeout of DATA; from its end
 * until the receiver answers the sender waits for us; the answer starts the idle time again.
 */
function answerOnce(
  admitted: AdmittedSessions,
  id: string,
  stream: SMTPServerDataStream,
  cb: Parameters<SMTPServer['onData']>[2],
): Parameters<SMTPServer['onData']>[2] {
  const session = admitted.get(id);
  if (!session) return cb;
  session.messages++;
  admitted.madeProgress(session);
  let answered = false;
  stream.once('end', () => {
    if (!answered) admitted.waitingForUs(session);
  });
  return (err, message) => {
    answered = true;
    if (admitted.get(id)) admitted.madeProgress(session);
    cb(err, message);
  };
}
