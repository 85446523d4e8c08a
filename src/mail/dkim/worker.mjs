// A DKIM signing thread (see pool.ts): the keys arrive once, parsed once; each message arrives
// as bytes and only its signature header goes back.
import { parentPort, workerData } from 'node:worker_threads';
import { dkimSigner } from './sign.mjs';

const sign = dkimSigner(workerData);
parentPort.on('message', ({ id, message, signedAt }) => {
  try {
    const bytes = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
    parentPort.postMessage({ id, header: sign(bytes, signedAt) });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message ? err.message : err) });
  }
});
