import type { OnboardingCapability, OnboardingGrant } from '@byok/kms';
import type { Pkcs11Config } from './pkcs11-config.js';
import { PKCS11_KEY_REF_FORMAT, type Pkcs11KeyRef } from './pkcs11-key-ref.js';

/** Placeholders used when the grant is written before the customer has named the key. */
export const TOKEN_PLACEHOLDER = '<TOKEN_LABEL>';
/** Placeholder for the key's CKA_LABEL. */
export const KEY_PLACEHOLDER = '<KEY_LABEL>';
/** Placeholder for the path of the customer's own PKCS#11 library in the commands. */
export const MODULE_PLACEHOLDER = '<PKCS11_LIBRARY>';

/** The attributes the customer's key must have: AES-256, on the token, usable for encrypt and decrypt, never leaving the HSM. */
export const PKCS11_KEY_TEMPLATE = {
  CKA_CLASS: 'CKO_SECRET_KEY',
  CKA_KEY_TYPE: 'CKK_AES',
  CKA_VALUE_LEN: 32,
  CKA_TOKEN: true,
  CKA_PRIVATE: true,
  CKA_SENSITIVE: true,
  CKA_EXTRACTABLE: false,
  CKA_ENCRYPT: true,
  CKA_DECRYPT: true,
  // The customer disables the key by changing CKA_ENCRYPT/CKA_DECRYPT, which needs a modifiable object.
  CKA_MODIFIABLE: true,
} as const;

/** Single-quotes `s` for a POSIX shell, unless it is a placeholder meant to be replaced. */
function sh(s: string): string {
  if (/^<[A-Z_]+>$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The grant for one tenant's key: the key object the customer creates and the commands for it. */
export function pkcs11Grant(
  tenantId: string,
  principal: string,
  ref: Pkcs11KeyRef | undefined,
): OnboardingGrant {
  const token = ref?.tokenLabel ?? TOKEN_PLACEHOLDER;
  const label = ref?.objectLabel ?? KEY_PLACEHOLDER;
  const keyRef = ref
    ? ref.uri
    : PKCS11_KEY_REF_FORMAT.replace('TOKEN_LABEL', TOKEN_PLACEHOLDER).replace('KEY_LABEL', KEY_PLACEHOLDER);
  const tool = `pkcs11-tool --module ${MODULE_PLACEHOLDER} --token-label ${sh(token)} --login`;
  const cli = [
    `# Create tenant ${tenantId}'s key inside the HSM (AES-256, sensitive, never extractable); you are asked for the PIN.`,
    `${tool} --keygen --key-type AES:32 --label ${sh(label)} --sensitive --private --usage-decrypt`,
    `# Check it: "Access: sensitive, always sensitive, never extractable" and "Usage: encrypt, decrypt".`,
    `${tool} --list-objects --type secrkey --label ${sh(label)}`,
    `# Register it with the service as: ${keyRef}`,
    `# Disable (revoke) it: set CKA_ENCRYPT and CKA_DECRYPT of the key to false with your HSM's`,
    `# administration tool (pkcs11-tool cannot change them); set both to true again to restore access.`,
    `# Destroy it (irreversible: everything sealed under it is lost for good):`,
    `${tool} --delete-object --type secrkey --label ${sh(label)}`,
  ].join('\n');
  return {
    grant: {
      kind: 'pkcs11-secret-key',
      keyRef,
      token,
      label,
      serviceIdentity: principal,
      mechanism: 'CKM_AES_GCM',
      template: { ...PKCS11_KEY_TEMPLATE, CKA_LABEL: label },
      disable: { CKA_ENCRYPT: false, CKA_DECRYPT: false },
      enable: { CKA_ENCRYPT: true, CKA_DECRYPT: true },
    },
    cli,
    notes: [
      `The key must live on token ${JSON.stringify(token)} where ${principal} can use it: the service logs in as that user and never as the Security Officer.`,
      'The key never leaves the HSM: the service sends each data key to it and gets back AES-256-GCM output bound to the tenant context.',
      'Disabling the key (CKA_ENCRYPT and CKA_DECRYPT false) makes every wrap and unwrap fail with KEY_REVOKED; the tenant is cut off once its cache window ends.',
      'No Terraform snippet: no Terraform provider manages objects inside an HSM partition; use pkcs11-tool or the vendor tool.',
    ],
  };
}

/** The PKCS#11 onboarding capability: principal from PKCS11_SERVICE_IDENTITY, grant from {@link pkcs11Grant}. */
export const pkcs11Onboarding: OnboardingCapability<Pkcs11KeyRef, Pkcs11Config> = {
  principal: (config) => config.PKCS11_SERVICE_IDENTITY,
  principalVariable: 'PKCS11_SERVICE_IDENTITY',
  grant: pkcs11Grant,
};
