// The report parser's thread (report-parser.ts): parses one report at a time and answers with
// the BounceReport or the error. The parser is the compiled JavaScript in dist/, where tsx is not
// installed; run from the sources it is TypeScript, and this thread has none of the parent's
// loaders, so tsx compiles it here once, when the thread starts.
import { parentPort, workerData } from 'node:worker_threads';

const { parserModule } = workerData;
const { parseReport } = parserModule.endsWith('.ts')
  ? await (await import('tsx/esm/api')).tsImport(parserModule, import.meta.url)
  : await import(parserModule);

parentPort.on('message', async ({ id, raw }) => {
  try {
    const report = await parseReport(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
    parentPort.postMessage({ id, report });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err?.message ?? err), cap: err?.cap });
  }
});
parentPort.postMessage({ ready: true });
