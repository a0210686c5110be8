import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

/** A client the token endpoint accepts (an app registration with a client secret). */
export interface AzureEmulatorClient {
  clientId: string;
  clientSecret: string;
}

/** Audiences a token may be issued for: Key Vault and Managed HSM. */
const RESOURCES = ['https://vault.azure.net', 'https://managedhsm.azure.net'];

/** What a verified bearer token says. */
export interface AzureTokenClaims {
  aud: string;
  tid: string;
  appid: string;
  exp: number;
}

/** Reply of the token endpoint: status and JSON body, shaped like Entra ID's. */
export interface TokenReply {
  status: number;
  body: Record<string, unknown>;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function aadError(status: number, error: string, code: number, description: string): TokenReply {
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${description}`,
      error_codes: [code],
      timestamp: new Date().toISOString(),
      trace_id: randomUUID(),
      correlation_id: randomUUID(),
    },
  };
}

/**
 * A minimal Entra ID (Azure AD) token authority for one tenant: OpenID metadata and the
 * client-credentials grant, issuing HMAC-signed JWTs that only this emulator accepts.
 */
export class AzureTokenAuthority {
  private readonly signingKey = randomBytes(32);

  constructor(
    readonly tenantId: string,
    private readonly clients: readonly AzureEmulatorClient[],
    private readonly lifetimeSeconds = 3600,
  ) {}

  /** `GET /{tenant}/v2.0/.well-known/openid-configuration`. */
  openIdConfiguration(baseUrl: string, tenant: string): TokenReply {
    if (tenant !== this.tenantId && tenant !== 'organizations' && tenant !== 'common') {
      return aadError(400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`);
    }
    const t = `${baseUrl}/${this.tenantId}`;
    return {
      status: 200,
      body: {
        token_endpoint: `${t}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: [
          'client_secret_post',
          'private_key_jwt',
          'client_secret_basic',
        ],
        jwks_uri: `${t}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: `${t}/v2.0`,
        request_uri_parameter_supported: false,
        userinfo_endpoint: `${baseUrl}/oidc/userinfo`,
        authorization_endpoint: `${t}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${t}/oauth2/v2.0/devicecode`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${t}/oauth2/v2.0/logout`,
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid'],
        kerberos_endpoint: `${t}/kerberos`,
        tenant_region_scope: 'EU',
        cloud_instance_name: 'emulator',
        cloud_graph_host_name: 'graph.windows.net',
        msgraph_host: 'graph.microsoft.com',
        rbac_url: 'https://pas.windows.net',
      },
    };
  }

  /** `POST /{tenant}/oauth2/v2.0/token` with a form body (client_credentials only). */
  token(tenant: string, form: URLSearchParams): TokenReply {
    if (tenant !== this.tenantId)
      return aadError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found.`);
    if (form.get('grant_type') !== 'client_credentials') {
      return aadError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    }
    const clientId = form.get('client_id') ?? '';
    const client = this.clients.find((c) => c.clientId === clientId);
    if (!client) {
      return aadError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`,
      );
    }
    if (!safeEqual(form.get('client_secret') ?? '', client.clientSecret)) {
      return aadError(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
      );
    }
    const scope = (form.get('scope') ?? '').split(' ').find((s) => s.endsWith('/.default')) ?? '';
    const resource = scope.slice(0, -'/.default'.length).replace(/\/$/, '');
    if (!RESOURCES.includes(resource)) {
      return aadError(400, 'invalid_scope', 70011, `The provided value for scope ${scope} is not valid.`);
    }
    const iat = Math.floor(Date.now() / 1000);
    const claims: AzureTokenClaims & Record<string, unknown> = {
      aud: resource,
      iss: `https://sts.windows.net/${this.tenantId}/`,
      iat,
      nbf: iat,
      exp: iat + this.lifetimeSeconds,
      tid: this.tenantId,
      appid: clientId,
      oid: randomUUID(),
    };
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        expires_in: this.lifetimeSeconds,
        ext_expires_in: this.lifetimeSeconds,
        access_token: this.sign(claims),
      },
    };
  }

  /** Verifies a bearer token this authority issued; undefined when forged, expired or foreign. */
  verify(token: string): AzureTokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [h, p, s] = parts as [string, string, string];
    const expected = createHmac('sha256', this.signingKey).update(`${h}.${p}`).digest('base64url');
    if (!safeEqual(s, expected)) return undefined;
    let claims: AzureTokenClaims;
    try {
      claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as AzureTokenClaims;
    } catch {
      return undefined;
    }
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return undefined;
    if (claims.tid !== this.tenantId || !RESOURCES.includes(claims.aud)) return undefined;
    return claims;
  }

  private sign(claims: Record<string, unknown>): string {
    const h = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const s = createHmac('sha256', this.signingKey).update(`${h}.${p}`).digest('base64url');
    return `${h}.${p}.${s}`;
  }
}
