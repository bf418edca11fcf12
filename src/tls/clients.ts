/**
 * Who is calling, as the layers after TLS need it: the `[[authz]]` entries turned into a directory that names each
 * connection's client (the bounded `client` label of metrics and access logs) and decides which models it may call.
 *
 * Labels: the name of the first `[[authz]]` entry whose subjects or SANs match the certificate, else "anonymous"
 * (no certificate: a plaintext listener, or client_auth none/optional without one) or "other". Models: with no
 * `[[authz]]` entries every client may call every model; with entries, a client may call the models of the entry
 * it matches (an entry without `models` allows all), and a client matching no entry may call none.
 */
import { RouterError } from '../errors.js';
import type { AuthzEntry } from '../config.js';
import { parseSanEntry, parseSubject, sanMatches, subjectMatches } from './identity.js';
import type { ClientIdentity, SanEntry } from './identity.js';

/** The client of one request. */
export interface ClientContext {
  /** null: no client certificate. */
  identity: ClientIdentity | null;
  /** Bounded label: an [[authz]] name, "anonymous" or "other". */
  label: string;
  /** The [[authz]] entry matched, if any. */
  entry: AuthzEntry | undefined;
}

export const ANONYMOUS: ClientContext = { identity: null, label: 'anonymous', entry: undefined };

interface Matcher {
  entry: AuthzEntry;
  subjects: Array<Array<[string, string]>>;
  sans: SanEntry[];
}

export class ClientDirectory {
  private readonly matchers: Matcher[];

  /** `resolve` maps a model name or alias to the configured model name (undefined: unknown). */
  constructor(
    entries: readonly AuthzEntry[],
    private readonly resolve: (name: string) => string | undefined,
  ) {
    this.matchers = entries.map((entry) => ({
      entry,
      subjects: entry.subjects.map(parseSubject),
      sans: entry.sans.map(parseSanEntry),
    }));
  }

  /** The client context of a connection's identity (undefined or no subject: anonymous). */
  context(identity: ClientIdentity | null | undefined): ClientContext {
    if (!identity) return ANONYMOUS;
    if (identity.fingerprint256 === null) return { identity, label: 'anonymous', entry: undefined };
    const m = this.matchers.find(
      (x) =>
        x.subjects.some((s) => subjectMatches(s, identity.subjectAttrs)) ||
        x.sans.some((s) => sanMatches(s, identity.sans)),
    );
    return { identity, label: m ? m.entry.name : 'other', entry: m?.entry };
  }

  /** Every label `context` can give (for metrics documentation and tests). */
  labels(): string[] {
    return [...this.matchers.map((m) => m.entry.name), 'anonymous', 'other'];
  }

  /** Throws ROUTER_ERR_FORBIDDEN when `[[authz]]` does not let `client` call `model` (a configured model name). */
  checkModel(client: ClientContext, model: string): void {
    if (this.matchers.length === 0) return;
    const who = client.identity?.subject ? `client "${client.identity.subject}"` : 'an anonymous client';
    if (!client.entry) {
      throw new RouterError(
        'ROUTER_ERR_FORBIDDEN',
        `${who} matches no [[authz]] entry, so it may call no model (add its subject or SANs to an entry)`,
      );
    }
    const allowed = client.entry.models;
    if (allowed.length > 0 && !allowed.some((m) => this.resolve(m) === model)) {
      throw new RouterError(
        'ROUTER_ERR_FORBIDDEN',
        `${who} ([[authz]] "${client.entry.name}") may not call model "${model}" (allowed: ${allowed.join(', ')})`,
      );
    }
  }
}
