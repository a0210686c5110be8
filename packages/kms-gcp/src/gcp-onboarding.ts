import { hclString, shellQuote, type OnboardingGrant } from '@byok/kms';
import type { GcpKeyRef } from './gcp-key-ref.js';

/** Google role that allows Encrypt and Decrypt on a CryptoKey. */
export const GCP_USE_ROLE = 'roles/cloudkms.cryptoKeyEncrypterDecrypter';
/** Google role that lets the key-health probe read the key's state (GetCryptoKey/GetCryptoKeyVersion). */
export const GCP_READ_ROLE = 'roles/cloudkms.viewer';

/** The GCP grant: IAM bindings on the CryptoKey. */
export type GcpIamBindingGrant = {
  kind: 'gcp-iam-binding';
  resource: string;
  bindings: { role: string; members: string[] }[];
};

const GCP_SA = /^[\w.+-]{1,64}@[a-z0-9-]+(\.[a-z0-9-]+)+$/;

/** True when `value` looks like a service account email. */
export function isGcpServiceAccount(value: string): boolean {
  return GCP_SA.test(value);
}

// Same bindings as infra/terraform/gcp/main.tf, on an existing CryptoKey named by its resource name.
function terraform(tenantId: string, member: string, resource: string): string {
  const l = `byok_${tenantId.replace(/[^A-Za-z0-9_]/g, '_')}`;
  return `# Encrypt and decrypt with this key only.
resource "google_kms_crypto_key_iam_member" "${l}_use" {
  crypto_key_id = ${hclString(resource)}
  role          = "${GCP_USE_ROLE}"
  member        = ${hclString(member)}
}

# Lets the service's key-health probe read the key's state (no use of the key).
resource "google_kms_crypto_key_iam_member" "${l}_read" {
  crypto_key_id = ${hclString(resource)}
  role          = "${GCP_READ_ROLE}"
  member        = ${hclString(member)}
}
`;
}

/** The IAM bindings letting `serviceAccount` use and read this CryptoKey only; placeholders without `ref`. */
export function gcpGrant(
  tenantId: string,
  serviceAccount: string,
  ref: GcpKeyRef | undefined,
): OnboardingGrant {
  const member = `serviceAccount:${serviceAccount}`;
  const resource =
    ref?.cryptoKeyName ?? 'projects/<PROJECT>/locations/<LOCATION>/keyRings/<KEY_RING>/cryptoKeys/<KEY>';
  const grant: GcpIamBindingGrant = {
    kind: 'gcp-iam-binding',
    resource,
    bindings: [
      { role: GCP_USE_ROLE, members: [member] },
      { role: GCP_READ_ROLE, members: [member] },
    ],
  };
  const target = ref
    ? `${shellQuote(ref.cryptoKey)} --keyring ${shellQuote(ref.keyRing)} --location ${shellQuote(ref.location)} --project ${shellQuote(ref.project)}`
    : '<KEY> --keyring <KEY_RING> --location <LOCATION> --project <PROJECT>';
  const bind = (role: string) =>
    `gcloud kms keys add-iam-policy-binding ${target} --member ${shellQuote(member)} --role ${role}`;
  return {
    grant,
    cli: `${bind(GCP_USE_ROLE)} && ${bind(GCP_READ_ROLE)}`,
    terraform: terraform(tenantId, member, resource),
    notes: [
      `${GCP_USE_ROLE} on the CryptoKey allows Encrypt and Decrypt with every version of this key only.`,
      `${GCP_READ_ROLE} lets the key-health probe read the key's state; without it the probe reports access denied, while encrypt and decrypt still work.`,
      'Cloud IAM cannot condition on additional authenticated data; the service binds the tenant in the AAD of every wrap.',
    ],
  };
}
