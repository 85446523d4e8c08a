// The report parser's thread (report-parser.ts): parses one report at a time and answers with
// the BounceReport or the error. The parser is TypeScript; this thread has none of the parent's
// loaders, so tsx compiles it here once, when the thread starts.
import { parentPort } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

const { parseReport } = await tsImport('./parse-report.ts', import.meta.url);

parentPort.on('message', async ({ id, raw }) => {
  try {
    const report = await parseReport(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
    parentPort.postMessage({ id, report });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err?.message ?? err), cap: err?.cap });
  }
});
parentPort.postMessage({ ready: true });
