import { Worker } from 'node:worker_threads';
import { dkimSigner, type DkimKeys } from './sign.mjs';

/**
 * DKIM signing off the event loop. An RSA-2048 signature costs several times the CPU of
 * everything else a digest message needs (docs/architecture.md, what the hot paths cost), so one
 * thread caps the send rate; a small pool of worker threads (DKIM_WORKERS, the cores by default) signs while the
 * main thread keeps the SMTP connections fed. A message is signed inside the mailer's
 * sendPrebuilt, between the send loop's claim and the server's reply, so the loop's in-flight
 * bound and the ledger's exactly-once bookkeeping see no difference. `0` signs on the main thread.
 */
export interface DkimSigning {
  /** The DKIM-Signature header(s) for the message made of these segments. */
  sign(message: readonly Buffer[]): Promise<Buffer>;
  close(): Promise<void>;
}

interface Pending {
  resolve(header: Buffer): void;
  reject(err: Error): void;
}
interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
}

class DkimWorkerError extends Error {}

export function dkimSigning(keys: DkimKeys, workers: number): DkimSigning {
  // Parsed here too, so a bad key fails at start-up, not in a worker mid-send.
  const onThisThread = dkimSigner(keys);
  if (workers === 0) {
    return {
      sign: async (message) =>
        Buffer.from(onThisThread(message.length === 1 ? message[0]! : Buffer.concat(message), signedAt()), 'latin1'),
      close: async () => {},
    };
  }
  const threads: Thread[] = [];
  let nextId = 0;

  const spawn = (): Thread => {
    // Plain JavaScript: the parent's --import loaders (tsx) are neither needed nor loadable there.
    const worker = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: keys, execArgv: [] });
    const thread: Thread = { worker, pending: new Map() };
    // An idle pool keeps no process alive; a thread is referenced while it has work.
    worker.unref();
    const fail = (err: Error) => {
      threads.splice(threads.indexOf(thread), 1);
      for (const p of thread.pending.values()) p.reject(err);
      thread.pending.clear();
    };
    worker.on('message', (m: { id: number; header?: string; error?: string }) => {
      const p = thread.pending.get(m.id);
      if (!p) return;
      thread.pending.delete(m.id);
      if (!thread.pending.size) worker.unref();
      if (m.header !== undefined) p.resolve(Buffer.from(m.header, 'latin1'));
      else p.reject(new DkimWorkerError(`DKIM signing failed: ${m.error}`));
    });
    worker.on('error', (err) => fail(new DkimWorkerError(`DKIM worker failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => {
      if (threads.includes(thread)) fail(new DkimWorkerError(`DKIM worker exited with code ${code}`));
    });
    threads.push(thread);
    return thread;
  };

  return {
    sign(message) {
      while (threads.length < workers) spawn();
      // The least busy thread: signing costs the same for every digest message.
      const thread = threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
      const bytes = joined(message);
      const id = nextId++;
      return new Promise<Buffer>((resolve, reject) => {
        if (!thread.pending.size) thread.worker.ref();
        thread.pending.set(id, { resolve, reject });
        // The joined copy is ours alone: its memory moves to the thread instead of being copied again.
        const own = bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length;
        thread.worker.postMessage(
          { id, message: bytes, signedAt: signedAt() },
          own ? [bytes.buffer as ArrayBuffer] : [],
        );
      });
    },
    async close() {
      const all = threads.splice(0);
      for (const t of all) for (const p of t.pending.values()) p.reject(new DkimWorkerError('DKIM signing closed'));
      await Promise.all(all.map((t) => t.worker.terminate()));
    },
  };
}

/** t= of a signature: read here, on the sending thread, so a message is stamped the same wherever it is signed. */
const signedAt = () => Math.floor(Date.now() / 1000);

/** One copy of the message for a thread (the segments are shared between recipients and must not move). */
function joined(message: readonly Buffer[]): Buffer {
  return message.length === 1 ? Buffer.from(message[0]!) : Buffer.concat(message);
}
