import { hclString, shellQuote, type OnboardingGrant } from '@byok/kms';
import type { AzureKeyRef } from './azure-key-ref.js';

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

/** The Azure grant: one role assignment scoped to the key. */
export type AzureRoleAssignmentGrant = {
  kind: 'azure-role-assignment';
  roleName: string;
  roleDefinitionId: string;
  principalId: string;
  principalType: 'ServicePrincipal';
  scope: string;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` is a GUID (the object id of a service principal or managed identity). */
export function isAzureObjectId(value: string): boolean {
  return UUID.test(value);
}

/** A Terraform block label for this tenant. */
function label(tenantId: string): string {
  return `byok_${tenantId.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

// Same assignment as infra/terraform/azure/main.tf, on an existing key looked up by vault and name.
function vaultTerraform(tenantId: string, principalId: string, vaultName: string, keyName: string): string {
  const l = label(tenantId);
  return `data "azurerm_key_vault" "${l}" {
  name                = ${hclString(vaultName)}
  resource_group_name = "<RESOURCE_GROUP>"
}

data "azurerm_key_vault_key" "${l}" {
  name         = ${hclString(keyName)}
  key_vault_id = data.azurerm_key_vault.${l}.id
}

resource "azurerm_role_assignment" "${l}" {
  # Scope is the key, not the vault: the service can use no other key.
  scope = data.azurerm_key_vault_key.${l}.resource_versionless_id
  # ${AZURE_ROLE.name}
  role_definition_id = "/providers/Microsoft.Authorization/roleDefinitions/${AZURE_ROLE.id}"
  principal_id       = ${hclString(principalId)}
  principal_type     = "ServicePrincipal"
}
`;
}

// Managed HSM has its own data-plane RBAC: the assignment lives in the HSM, scoped to /keys/NAME.
function hsmTerraform(tenantId: string, principalId: string, hsmName: string, scope: string): string {
  const l = label(tenantId);
  return `data "azurerm_key_vault_managed_hardware_security_module" "${l}" {
  name                = ${hclString(hsmName)}
  resource_group_name = "<RESOURCE_GROUP>"
}

# ${AZURE_HSM_ROLE.name}
data "azurerm_key_vault_managed_hardware_security_module_role_definition" "${l}" {
  managed_hsm_id = data.azurerm_key_vault_managed_hardware_security_module.${l}.id
  name           = "${AZURE_HSM_ROLE.id}"
}

resource "azurerm_key_vault_managed_hardware_security_module_role_assignment" "${l}" {
  managed_hsm_id = data.azurerm_key_vault_managed_hardware_security_module.${l}.id
  # Assignment names are GUIDs: derived from the scope and principal, so a re-apply is stable.
  name               = uuidv5("url", ${hclString(`byok:${scope}:${principalId}`)})
  scope              = ${hclString(scope)}
  role_definition_id = data.azurerm_key_vault_managed_hardware_security_module_role_definition.${l}.resource_manager_id
  principal_id       = ${hclString(principalId)}
}
`;
}

/** The role assignment letting `principalId` get, wrap and unwrap with this key only; placeholders without `ref`. */
export function azureGrant(
  tenantId: string,
  principalId: string,
  ref: AzureKeyRef | undefined,
): OnboardingGrant {
  const hsm = ref?.kind === 'managed-hsm';
  const role = hsm ? AZURE_HSM_ROLE : AZURE_ROLE;
  const keyName = ref?.name ?? '<KEY_NAME>';
  const vaultName = ref ? (new URL(ref.vaultUrl).hostname.split('.')[0] ?? '') : '<VAULT_NAME>';
  const scope = hsm
    ? `/keys/${keyName}`
    : `/subscriptions/<SUBSCRIPTION_ID>/resourceGroups/<RESOURCE_GROUP>/providers/Microsoft.KeyVault/vaults/${vaultName}/keys/${keyName}`;
  const grant: AzureRoleAssignmentGrant = {
    kind: 'azure-role-assignment',
    roleName: role.name,
    roleDefinitionId: role.id,
    principalId,
    principalType: 'ServicePrincipal',
    scope,
  };
  const cli = hsm
    ? `az keyvault role assignment create --hsm-name ${shellQuote(vaultName)} --role ${role.id} --assignee-object-id ${shellQuote(principalId)} --assignee-principal-type ServicePrincipal --scope ${shellQuote(scope)}`
    : `az role assignment create --role ${role.id} --assignee-object-id ${shellQuote(principalId)} --assignee-principal-type ServicePrincipal --scope "$(az keyvault show --name ${shellQuote(vaultName)} --query id -o tsv)/keys/${keyName}"`;
  return {
    grant,
    cli,
    terraform: hsm
      ? hsmTerraform(tenantId, principalId, vaultName, scope)
      : vaultTerraform(tenantId, principalId, vaultName, keyName),
    notes: [
      `${role.name} allows get, wrapKey and unwrapKey on this key only (scope is the key, not the vault).`,
      hsm
        ? 'Managed HSM uses its own local RBAC: the scope is /keys/NAME inside the HSM.'
        : 'The vault must use the Azure RBAC permission model (not access policies). The CLI resolves subscription and resource group from the vault name.',
      'Azure RBAC cannot condition on the encryption context; the service binds the tenant inside the wrapped blob instead.',
    ],
  };
}
