// The MJML compiler's thread (see mjml-compiler.ts): MJML and its HTML tooling are loaded here
// only, and their memory goes when the thread ends. Plain JavaScript, as it runs without a
// TypeScript loader under the precompiled operator commands too.
import { parentPort } from 'node:worker_threads';
import mjml2html from 'mjml';

// One compile at a time: each holds a whole document tree, and concurrent ones only add up.
let queue = Promise.resolve();
parentPort.on('message', ({ id, mjml }) => {
  queue = queue.then(async () => {
    try {
      const { html } = await mjml2html(mjml, {
        validationLevel: 'strict',
        fonts: {},
        minify: false,
        keepComments: false,
      });
      parentPort.postMessage({ id, html });
    } catch (err) {
      parentPort.postMessage({ id, error: String(err && err.message ? err.message : err) });
    }
  });
});
