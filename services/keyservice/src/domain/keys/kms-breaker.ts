import { KmsError } from '@byok/kms';

interface Circuit {
  failures: number;
  openUntil: number;
  trialInFlight: boolean;
}

/**
 * Per-tenant circuit breaker around KMS calls. After `threshold` consecutive outage errors
 * (unavailable or throttled) the circuit opens: calls fail fast with KMS_UNAVAILABLE for `openMs`,
 * then one trial call is let through (half-open); its success closes the circuit, its failure
 * opens it again. Revocations are not outages and never count here (they purge instead).
 */
export class KmsBreaker {
  private readonly circuits = new Map<string, Circuit>();

  constructor(
    private readonly threshold: number,
    private readonly openMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws KMS_UNAVAILABLE while the tenant's circuit is open; returns whether this is the half-open trial. */
  admit(tenantId: string, provider: string): boolean {
    const c = this.circuits.get(tenantId);
    if (!c || c.failures < this.threshold) return false;
    if (this.now() < c.openUntil || c.trialInFlight) {
      throw new KmsError(
        'KMS_UNAVAILABLE',
        `KMS calls for tenant ${tenantId} are paused after repeated failures; retrying shortly`,
        {
          provider,
          operation: 'unwrap',
        },
      );
    }
    c.trialInFlight = true;
    return true;
  }

  /** A call succeeded: close the circuit. */
  success(tenantId: string): void {
    this.circuits.delete(tenantId);
  }

  /** A call failed with `code`; outages count, anything else closes the trial without opening. */
  failure(tenantId: string, code: string): void {
    const outage = code === 'KMS_UNAVAILABLE' || code === 'KMS_THROTTLED';
    const c = this.circuits.get(tenantId) ?? { failures: 0, openUntil: 0, trialInFlight: false };
    c.trialInFlight = false;
    if (!outage) {
      this.circuits.delete(tenantId);
      return;
    }
    c.failures++;
    if (c.failures >= this.threshold) c.openUntil = this.now() + this.openMs;
    this.circuits.set(tenantId, c);
  }

  /** The tenant's state, for health and metrics. */
  state(tenantId: string): 'closed' | 'open' | 'half-open' {
    const c = this.circuits.get(tenantId);
    if (!c || c.failures < this.threshold) return 'closed';
    return this.now() < c.openUntil ? 'open' : 'half-open';
  }
}
