import { z } from 'zod';
import { TenantId } from './common.js';
import { JobId, JobResponse, RetireRequest, RetireResponse, RotateResponse } from './keys.js';
import { defineOperation, KMS_ERRORS, TENANT_ERRORS } from './operation.js';

const params = z.object({ tenantId: TenantId });
const tenantAdmin = ['tenant-admin'] as const;
const admins = ['tenant-admin', 'platform-admin'] as const;

/** Tenant-key rotation, its re-encryption jobs, and retirement of old versions. */
export const keyOperations = {
  rotateTenantKey: defineOperation({
    id: 'rotateTenantKey',
    method: 'post',
    path: '/v1/tenants/{tenantId}/tenant-key/rotate',
    tag: 'rotation',
    summary: 'Make a new tenant-key version and start re-encrypting secrets under it',
    roles: tenantAdmin,
    params,
    responses: { 202: { description: 'New version and its job', schema: RotateResponse } },
    errors: [...TENANT_ERRORS, ...KMS_ERRORS, 'CONFLICT'],
  }),
  retireTenantKeys: defineOperation({
    id: 'retireTenantKeys',
    method: 'post',
    path: '/v1/tenants/{tenantId}/tenant-key/retire',
    tag: 'rotation',
    summary: 'Destroy tenant-key versions below minVersion (refused while data still needs them)',
    roles: tenantAdmin,
    params,
    body: RetireRequest,
    responses: { 200: { description: 'Versions retired', schema: RetireResponse } },
    errors: [...TENANT_ERRORS, 'CONFLICT'],
  }),
  getJob: defineOperation({
    id: 'getJob',
    method: 'get',
    path: '/v1/tenants/{tenantId}/jobs/{jobId}',
    tag: 'rotation',
    summary: 'Progress of a re-encryption job',
    roles: admins,
    params: z.object({ tenantId: TenantId, jobId: JobId }),
    responses: { 200: { description: 'The job', schema: JobResponse } },
    errors: TENANT_ERRORS,
  }),
};
