import { parseKeyRef, type AwsKeyRef, type AzureKeyRef, type GcpKeyRef } from '@byok/kms';
import { AppError } from '../../errors.js';

/** Who the service is in each cloud: the principal a customer grants use of its key to. */
export interface ServiceIdentity {
  /** IAM role ARN the service runs as in AWS. */
  awsRoleArn?: string | undefined;
  /** Object id of the service's Entra ID service principal (or managed identity). */
  azurePrincipalId?: string | undefined;
  /** Google service account email the service runs as. */
  gcpServiceAccount?: string | undefined;
}

/** Cloud providers a customer key can live in (the dev `local` provider needs no grant). */
export const ONBOARDING_PROVIDERS = ['aws-kms', 'azure-kv', 'gcp-kms'] as const;
/** One of {@link ONBOARDING_PROVIDERS}. */
export type OnboardingProvider = (typeof ONBOARDING_PROVIDERS)[number];

/** Actions the service performs with a tenant key on every wrap and unwrap (all carry the encryption context). */
export const AWS_CONTEXT_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'] as const;
/** Azure built-in role: get key, wrap key, unwrap key; nothing else. */
export const AZURE_ROLE = {
  name: 'Key Vault Crypto Service Encryption User',
  id: 'e147488a-f6f5-4113-8e2d-b22465e65bf6',
} as const;
/** Azure Managed HSM's local role with the same rights (Managed HSM has its own RBAC). */
export const AZURE_HSM_ROLE = {
  name: 'Managed HSM Crypto Service Encryption User',
  id: '33413926-3206-4cdd-b39a-83574fe37a17',
} as const;
/** Google role that allows Encrypt and Decrypt on a CryptoKey. */
export const GCP_USE_ROLE = 'roles/cloudkms.cryptoKeyEncrypterDecrypter';
/** Google role that lets the key-health probe read the key's state (GetCryptoKey/GetCryptoKeyVersion). */
export const GCP_READ_ROLE = 'roles/cloudkms.viewer';

/** One statement of an AWS key policy. */
export interface AwsPolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Principal: { AWS: string };
  Action: string | string[];
  Resource: '*';
  Condition?: { StringEquals: Record<string, string> };
}

/** The customer-side grant for one tenant, ready to apply by hand, by CLI or by Terraform. */
export type CmkGrant =
  | {
      kind: 'aws-key-policy';
      /** The statements to add to the key's policy. */
      statements: AwsPolicyStatement[];
      /** A complete key policy: the account's own admin statement plus ours (put-key-policy replaces the whole policy). */
      keyPolicy: { Version: '2012-10-17'; Statement: AwsPolicyStatement[] };
    }
  | {
      kind: 'azure-role-assignment';
      roleName: string;
      roleDefinitionId: string;
      principalId: string;
      principalType: 'ServicePrincipal';
      scope: string;
    }
  | { kind: 'gcp-iam-binding'; resource: string; bindings: { role: string; members: string[] }[] };

/** What `GET /v1/tenants/{t}/cmk/policy` answers. */
export interface CmkPolicyGuide {
  provider: OnboardingProvider;
  tenantId: string;
  keyRef: string | null;
  principal: string;
  grant: CmkGrant;
  /** Shell command(s) the customer runs; placeholders in <ANGLE_BRACKETS> where the key was not given. */
  cli: string;
  notes: string[];
}

const AWS_ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GCP_SA = /^[\w.+-]{1,64}@[a-z0-9-]+(\.[a-z0-9-]+)+$/;

/** Checks a configured identity's shape; returns a problem message or undefined. */
export function identityProblem(provider: OnboardingProvider, value: string): string | undefined {
  if (provider === 'aws-kms' && !AWS_ROLE_ARN.test(value))
    return 'expected an IAM role ARN: arn:aws:iam::ACCOUNT:role/NAME';
  if (provider === 'azure-kv' && !UUID.test(value))
    return 'expected the object id (a GUID) of the service principal';
  if (provider === 'gcp-kms' && !GCP_SA.test(value))
    return 'expected a service account email: NAME@PROJECT.iam.gserviceaccount.com';
  return undefined;
}

const IDENTITY_VARIABLE: Record<OnboardingProvider, string> = {
  'aws-kms': 'SERVICE_AWS_ROLE_ARN',
  'azure-kv': 'SERVICE_AZURE_PRINCIPAL_ID',
  'gcp-kms': 'SERVICE_GCP_SERVICE_ACCOUNT',
};

function principalFor(provider: OnboardingProvider, id: ServiceIdentity): string {
  const value =
    provider === 'aws-kms'
      ? id.awsRoleArn
      : provider === 'azure-kv'
        ? id.azurePrincipalId
        : id.gcpServiceAccount;
  if (!value) {
    throw new AppError(
      'KMS_MISCONFIGURED',
      `the operator has not set ${IDENTITY_VARIABLE[provider]}, so the grant for ${provider} cannot be written`,
    );
  }
  return value;
}

/** Single-quotes a value for a POSIX shell. */
function sh(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function awsGuide(tenantId: string, role: string, ref: AwsKeyRef | undefined) {
  const use: AwsPolicyStatement = {
    Sid: `ByokUseKeyForTenant${tenantId.replace(/[^A-Za-z0-9]/g, '')}`,
    Effect: 'Allow',
    Principal: { AWS: role },
    Action: [...AWS_CONTEXT_ACTIONS],
    Resource: '*',
    Condition: { StringEquals: { 'kms:EncryptionContext:tenant': tenantId } },
  };
  // DescribeKey carries no encryption context: under the tenant condition it would always be denied.
  const describe: AwsPolicyStatement = {
    Sid: 'ByokDescribeKey',
    Effect: 'Allow',
    Principal: { AWS: role },
    Action: 'kms:DescribeKey',
    Resource: '*',
  };
  const account = ref?.account ?? '<CUSTOMER_ACCOUNT_ID>';
  const partition = ref?.partition ?? 'aws';
  const admin: AwsPolicyStatement = {
    Sid: 'EnableIamPolicies',
    Effect: 'Allow',
    Principal: { AWS: `arn:${partition}:iam::${account}:root` },
    Action: 'kms:*',
    Resource: '*',
  };
  const keyPolicy = { Version: '2012-10-17' as const, Statement: [admin, use, describe] };
  const keyId = ref?.uri ?? '<KEY_ARN>';
  const region = ref ? ` --region ${ref.region}` : '';
  const grant: CmkGrant = { kind: 'aws-key-policy', statements: [use, describe], keyPolicy };
  return {
    grant,
    cli: `aws kms put-key-policy${region} --key-id ${sh(keyId)} --policy-name default --policy ${sh(JSON.stringify(keyPolicy))}`,
    notes: [
      'put-key-policy replaces the whole key policy: merge the two statements into your existing policy if it has more than the account admin statement.',
      `The condition limits the service to encryption contexts of tenant ${tenantId}; every tenant key the service wraps carries {tenant, purpose, version}.`,
      'DescribeKey carries no encryption context, so it has its own statement without the condition (the key-health probe uses it).',
      'An alias ARN cannot be named in a key policy; the grant applies to the key the alias points to.',
    ],
  };
}

function azureGuide(principalId: string, ref: AzureKeyRef | undefined) {
  const hsm = ref?.kind === 'managed-hsm';
  const role = hsm ? AZURE_HSM_ROLE : AZURE_ROLE;
  const keyName = ref?.name ?? '<KEY_NAME>';
  const vaultName = ref ? (new URL(ref.vaultUrl).hostname.split('.')[0] ?? '') : '<VAULT_NAME>';
  const scope = hsm
    ? `/keys/${keyName}`
    : `/subscriptions/<SUBSCRIPTION_ID>/resourceGroups/<RESOURCE_GROUP>/providers/Microsoft.KeyVault/vaults/${vaultName}/keys/${keyName}`;
  const grant: CmkGrant = {
    kind: 'azure-role-assignment',
    roleName: role.name,
    roleDefinitionId: role.id,
    principalId,
    principalType: 'ServicePrincipal',
    scope,
  };
  const cli = hsm
    ? `az keyvault role assignment create --hsm-name ${sh(vaultName)} --role ${role.id} --assignee-object-id ${sh(principalId)} --assignee-principal-type ServicePrincipal --scope ${sh(scope)}`
    : `az role assignment create --role ${role.id} --assignee-object-id ${sh(principalId)} --assignee-principal-type ServicePrincipal --scope "$(az keyvault show --name ${sh(vaultName)} --query id -o tsv)/keys/${keyName}"`;
  return {
    grant,
    cli,
    notes: [
      `${role.name} allows get, wrapKey and unwrapKey on this key only (scope is the key, not the vault).`,
      hsm
        ? 'Managed HSM uses its own local RBAC: the scope is /keys/NAME inside the HSM.'
        : 'The vault must use the Azure RBAC permission model (not access policies). The CLI resolves subscription and resource group from the vault name.',
      'Azure RBAC cannot condition on the encryption context; the service binds the tenant inside the wrapped blob instead.',
    ],
  };
}

function gcpGuide(serviceAccount: string, ref: GcpKeyRef | undefined) {
  const member = `serviceAccount:${serviceAccount}`;
  const resource =
    ref?.cryptoKeyName ?? 'projects/<PROJECT>/locations/<LOCATION>/keyRings/<KEY_RING>/cryptoKeys/<KEY>';
  const grant: CmkGrant = {
    kind: 'gcp-iam-binding',
    resource,
    bindings: [
      { role: GCP_USE_ROLE, members: [member] },
      { role: GCP_READ_ROLE, members: [member] },
    ],
  };
  const target = ref
    ? `${sh(ref.cryptoKey)} --keyring ${sh(ref.keyRing)} --location ${sh(ref.location)} --project ${sh(ref.project)}`
    : '<KEY> --keyring <KEY_RING> --location <LOCATION> --project <PROJECT>';
  const bind = (role: string) =>
    `gcloud kms keys add-iam-policy-binding ${target} --member ${sh(member)} --role ${role}`;
  return {
    grant,
    cli: `${bind(GCP_USE_ROLE)} && ${bind(GCP_READ_ROLE)}`,
    notes: [
      `${GCP_USE_ROLE} on the CryptoKey allows Encrypt and Decrypt with every version of this key only.`,
      `${GCP_READ_ROLE} lets the key-health probe read the key's state; without it the probe reports access denied, while encrypt and decrypt still work.`,
      'Cloud IAM cannot condition on additional authenticated data; the service binds the tenant in the AAD of every wrap.',
    ],
  };
}

/**
 * The exact grant a customer applies so the service may use its key for `tenantId`. With `keyRef`
 * the grant and CLI name that key; without it they carry <PLACEHOLDERS>.
 */
export function cmkPolicyGuide(
  provider: OnboardingProvider,
  tenantId: string,
  identity: ServiceIdentity,
  keyRef?: string,
): CmkPolicyGuide {
  const principal = principalFor(provider, identity);
  const ref = keyRef === undefined ? undefined : parseKeyRef(provider, keyRef);
  const built =
    provider === 'aws-kms'
      ? awsGuide(tenantId, principal, ref as AwsKeyRef | undefined)
      : provider === 'azure-kv'
        ? azureGuide(principal, ref as AzureKeyRef | undefined)
        : gcpGuide(principal, ref as GcpKeyRef | undefined);
  return { provider, tenantId, keyRef: ref?.uri ?? null, principal, ...built };
}
