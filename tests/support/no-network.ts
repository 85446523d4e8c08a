/**
 * Keeps tests off the network: any TCP connection (http, https, fetch, nodemailer, imapflow all
 * go through net.Socket#connect) to an address other than this machine, and any DNS query for a
 * name other than localhost, fails with NetworkBlockedError. Loaded in every vitest worker
 * (tests/support/vitest-setup.ts) and, with `--import`, in the project's processes the tests spawn.
 * Vitest evaluates this module afresh for each test file while the patches stay on the process
 * (installed once): what they share lives on globalThis.
 */
import dns from 'node:dns';
import net from 'node:net';
import { syncBuiltinESMExports } from 'node:module';

class BlockedError extends Error {
  readonly code = 'ERR_TEST_NETWORK_BLOCKED';
  constructor(target: string) {
    super(`no-network guard: tests may not reach ${target} (only 127.0.0.0/8, ::1 and localhost)`);
    this.name = 'NetworkBlockedError';
  }
}

const shared = ((globalThis as { [key: symbol]: unknown })[Symbol.for('paperboy.no-network')] ??= {
  NetworkBlockedError: BlockedError,
  blocked: [] as string[],
  installed: false,
}) as { NetworkBlockedError: typeof BlockedError; blocked: string[]; installed: boolean };

export const NetworkBlockedError = shared.NetworkBlockedError;
const blocked = shared.blocked;

/** Targets refused since the last call (the vitest setup fails the test that caused any). */
export function takeBlockedAttempts(): string[] {
  return blocked.splice(0);
}

const isLocalName = (host: string) => host === 'localhost' || host.endsWith('.localhost');

/** Loopback, or the unspecified address (which Linux connects to this machine). */
export function isLocalAddress(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (net.isIPv4(a)) return a.startsWith('127.') || a === '0.0.0.0';
  if (net.isIPv6(a)) return a === '::1' || a === '::' || /^::ffff:127\./.test(a) || a === '0:0:0:0:0:0:0:1';
  return false;
}

function refuse(target: string): BlockedError {
  blocked.push(target);
  process.stderr.write(`[no-network] blocked ${target}\n`);
  return new NetworkBlockedError(target);
}

/** getServers() gives '1.2.3.4', '1.2.3.4:53', '::1' or '[::1]:53'. */
const serverHost = (s: string) =>
  s.startsWith('[') ? s.slice(1, s.indexOf(']')) : net.isIP(s) ? s : s.replace(/:\d+$/, '');

type ConnectArgs = unknown[];

/** Where a Socket#connect call goes: undefined for a unix socket or a pipe. */
function target(args: ConnectArgs): { host: string; port: unknown } | undefined {
  // net.connect hands Socket#connect its already normalized [options, callback] array.
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (first !== null && typeof first === 'object') {
    const o = first as { path?: unknown; host?: unknown; port?: unknown };
    if (o.path) return undefined;
    return { host: typeof o.host === 'string' && o.host !== '' ? o.host : 'localhost', port: o.port };
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return undefined;
  return { host: typeof args[1] === 'string' ? args[1] : 'localhost', port: first };
}

function install(): void {
  if (shared.installed) return;
  shared.installed = true;

  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: ConnectArgs) {
    const t = target(args);
    if (t && !isLocalAddress(t.host) && !isLocalName(t.host)) {
      const err = refuse(`${t.host}:${String(t.port)}`);
      // As a failed connection would: asynchronously, through the socket's 'error' event.
      process.nextTick(() => this.destroy(err));
      return this;
    }
    return (connect as (...a: ConnectArgs) => net.Socket).apply(this, args);
  } as typeof connect;

  const lookup = dns.lookup;
  dns.lookup = function (hostname: string, ...rest: unknown[]) {
    if (typeof hostname === 'string' && !isLocalName(hostname) && !net.isIP(hostname)) {
      const err = refuse(`DNS ${hostname}`);
      const callback = rest[rest.length - 1] as (e: Error) => void;
      process.nextTick(() => callback(err));
      return {} as never;
    }
    return (lookup as (...a: unknown[]) => unknown)(hostname, ...rest);
  } as typeof dns.lookup;

  const lookupAsync = dns.promises.lookup;
  dns.promises.lookup = function (hostname: string, ...rest: unknown[]) {
    if (typeof hostname === 'string' && !isLocalName(hostname) && !net.isIP(hostname)) {
      return Promise.reject(refuse(`DNS ${hostname}`));
    }
    return (lookupAsync as (...a: unknown[]) => Promise<unknown>)(hostname, ...rest);
  } as typeof dns.promises.lookup;

  // Record queries (resolveTxt, resolveMx, …) go straight to the configured name servers.
  const guardResolvers = (target: Record<string, unknown>, servers: (self: unknown) => string[], promised: boolean) => {
    for (const name of Object.getOwnPropertyNames(target)) {
      const original = target[name];
      if (!/^resolve|^reverse$/.test(name) || typeof original !== 'function') continue;
      target[name] = function (this: unknown, query: unknown, ...rest: unknown[]) {
        if (servers(this).every((s) => isLocalAddress(serverHost(s)))) return original.call(this, query, ...rest);
        const err = refuse(`DNS ${name} ${String(query)}`);
        if (promised) return Promise.reject(err);
        const callback = rest[rest.length - 1] as (e: Error) => void;
        process.nextTick(() => callback(err));
        return undefined;
      };
    }
  };
  const own = (self: unknown) => (self as { getServers(): string[] }).getServers();
  guardResolvers(dns.Resolver.prototype as unknown as Record<string, unknown>, own, false);
  guardResolvers(dns.promises.Resolver.prototype as unknown as Record<string, unknown>, own, true);
  guardResolvers(dns as unknown as Record<string, unknown>, () => dns.getServers(), false);
  guardResolvers(dns.promises as unknown as Record<string, unknown>, () => dns.getServers(), true);

  // `import { lookup } from 'node:dns'` sees the guarded functions too.
  syncBuiltinESMExports();
}

install();
