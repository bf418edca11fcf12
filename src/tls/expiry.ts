/**
 * Certificate expiry: every certificate the router has loaded (listeners' server certs and CAs, SNI certs, the
 * backend CA and client cert), for the `tei_router_tls_certificate_not_after_seconds` gauge, and a warning log line
 * for each one that expires within `tls.expiry_warning_days` (at load, at each reload, and twice a day).
 */
import type { LoadedCert } from './material.js';

export interface CertificateSource {
  /** 'grpc', 'http', 'admin' or 'backend'. */
  source: string;
  cert: LoadedCert;
}

const DAY_MS = 86_400_000;
const CRL_WARNING_DAYS = 2;

export class CertificateExpiry {
  private readonly sets = new Map<string, LoadedCert[]>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly warningDays: number,
    private readonly log: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => this.warn(this.all()), DAY_MS / 2);
    this.timer.unref();
  }

  /** Replaces the certificates of `source` (after a load or reload) and warns about those expiring soon. */
  update(source: string, certs: readonly LoadedCert[]): void {
    this.sets.set(source, [...certs]);
    this.warn(certs.map((cert) => ({ source, cert })));
  }

  all(): CertificateSource[] {
    return [...this.sets].flatMap(([source, certs]) => certs.map((cert) => ({ source, cert })));
  }

  private warn(list: readonly CertificateSource[]): void {
    for (const { source, cert } of list) {
      // CRLs are short-lived and re-published often: warn only in their last 2 days (or the configured window)
      const crl = cert.role === 'crl';
      const limit =
        this.now() + (crl ? Math.min(this.warningDays, CRL_WARNING_DAYS) : this.warningDays) * DAY_MS;
      const at = cert.notAfter.getTime();
      if (at > limit) continue;
      const left =
        at <= this.now() ? 'EXPIRED on' : `expires in ${Math.ceil((at - this.now()) / DAY_MS)} days,`;
      this.log(
        crl
          ? `tei-router: ${source} CRL ${cert.path} (issuer ${cert.subject}, CRL number ${cert.serial}) ${left} ${cert.notAfter.toISOString()}: publish a fresh one`
          : `tei-router: ${source} ${cert.role} certificate ${cert.path} (${cert.subject}, serial ${cert.serial}) ${left} ${cert.notAfter.toISOString()}: rotate it`,
      );
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
