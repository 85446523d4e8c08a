import { serve, type Handlers } from './ipc.ts';

/**
 * Entry point of every bench child process: `worker.ts <role>`. Only the role's modules are
 * loaded, so a sender's RSS does not include the HTTP stack and vice versa.
 */
const role = process.argv[2];

const roles: Record<string, () => Promise<Handlers>> = {
  sink: async () => (await import('./sink-worker.ts')).sinkHandlers('smtp-server'),
  'lean-sink': async () => (await import('./sink-worker.ts')).sinkHandlers('lean'),
  sender: async () => (await import('./send-worker.ts')).senderHandlers(),
  render: async () => (await import('./render-worker.ts')).renderHandlers(),
  ingest: async () => (await import('./ingest-worker.ts')).ingestHandlers(),
  http: async () => (await import('./subscribe-worker.ts')).subscribeServerHandlers(),
  day: async () => (await import('./day-worker.ts')).dayHandlers(),
};

const load = role ? roles[role] : undefined;
if (!load) {
  console.error(`bench worker: unknown role ${JSON.stringify(role)} (one of ${Object.keys(roles).join(', ')})`);
  process.exit(2);
}
serve(await load());
