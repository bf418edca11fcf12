/**
 * DNS discovery of replicas: a backend written `dns+<scheme>://<name>:<port>[/prefix]` stands for one replica per
 * A and AAAA record of `<name>`, each reached at `<scheme>://<address>:<port>[/prefix]`: how a Kubernetes headless
 * Service (one record per ready pod) is consumed. The name is resolved again every `discovery.interval_ms`; the
 * replica sets (replicas.ts) add and retire replicas as the records change.
 *
 * A name that does not exist (NXDOMAIN) or has no address records (NODATA) has no replicas; any other failure
 * (timeout, SERVFAIL, refused) keeps the replicas found last, so a DNS outage does not empty the fleet.
 */
import dns from 'node:dns';
import net from 'node:net';
import { RouterError } from '../errors.js';

export const DNS_PREFIX = 'dns+';

/** The addresses of a name; [] when it has none (NXDOMAIN/NODATA); throws when DNS could not answer. */
export type Resolve = (host: string) => Promise<string[]>;

export interface DnsSource {
  /** As configured: `dns+http://tei.ns.svc:8080`. */
  readonly spec: string;
  /** The replicas' URL scheme (http:, https:, grpc:, grpcs:). */
  readonly protocol: string;
  readonly host: string;
  readonly port: string;
  /** Path prefix of HTTP backends ('' for none). */
  readonly path: string;
}

export function isDnsSpec(spec: string): boolean {
  return spec.startsWith(DNS_PREFIX);
}

/** Parses a `dns+scheme://name:port` backend; ROUTER_ERR_CONFIG names what is wrong. */
export function parseDnsSpec(spec: string): DnsSource {
  let u: URL;
  try {
    u = new URL(spec.slice(DNS_PREFIX.length));
  } catch {
    throw new RouterError(
      'ROUTER_ERR_CONFIG',
      `backend ${JSON.stringify(spec)} is not a valid URL after "dns+"; write dns+http://name:port, e.g. dns+http://tei.default.svc.cluster.local:8080`,
    );
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) !== 0) {
    throw new RouterError(
      'ROUTER_ERR_CONFIG',
      `backend ${spec}: "${host}" is an address, not a DNS name; list it without "dns+"`,
    );
  }
  if (u.port === '') {
    throw new RouterError(
      'ROUTER_ERR_CONFIG',
      `backend ${spec} needs an explicit port (the records give addresses only), e.g. dns+http://${host}:8080`,
    );
  }
  return {
    spec,
    protocol: u.protocol,
    host,
    port: u.port,
    path: u.pathname === '/' ? '' : u.pathname,
  };
}

/** The URL of the replica at `address` (IPv6 in brackets). */
export function replicaUrl(source: DnsSource, address: string): string {
  const host = net.isIPv6(address) ? `[${address}]` : address;
  return `${source.protocol}//${host}:${source.port}${source.path}`;
}

const NO_RECORDS = new Set<string>([dns.NOTFOUND, dns.NODATA]);

/**
 * A Resolve over node:dns: A and AAAA records, from `servers` ("127.0.0.1:5353", "[::1]:53") when given, else the
 * system's resolvers. Addresses come back sorted, so an unchanged answer compares equal.
 */
export function dnsResolver(servers: readonly string[] = [], timeoutMs = 2000): Resolve {
  const resolver = new dns.promises.Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers.length > 0) resolver.setServers([...servers]);
  const lookup = async (query: Promise<string[]>): Promise<string[]> => {
    try {
      return await query;
    } catch (err) {
      if (NO_RECORDS.has((err as NodeJS.ErrnoException).code ?? '')) return [];
      throw err;
    }
  };
  return async (host) => {
    const [v4, v6] = await Promise.all([lookup(resolver.resolve4(host)), lookup(resolver.resolve6(host))]);
    return [...v4, ...v6].sort();
  };
}
