import type { AnnalConfig } from "../config.js";
import { usesDevIdentityProvider } from "../config.js";
import {
  createAuthOff,
  createDevIdentityProvider,
  createOidcAccessControl,
  createTokenVerifier,
  DEFAULT_POLICY,
  loadPolicyFile,
  type AccessControl,
  type DevIdentityProvider,
} from "../auth/index.js";
import type { MountedIdentityProvider } from "../api/context.js";

export const IDENTITY_PROVIDER_MOUNT_PATH = "/oidc";

export interface OpenedAccess {
  access: AccessControl;
  /** The embedded development issuer, when it runs (auth on, no ANNAL_OIDC_ISSUER). */
  devProvider: (DevIdentityProvider & MountedIdentityProvider) | undefined;
}

/**
 * Wires authentication from the configuration: off, an external issuer, or the embedded
 * development issuer under `${publicUrl}/oidc`. The public URL must be known before the
 * server listens, because it is the issuer identifier inside every token.
 */
export async function openAccess(config: AnnalConfig, options: { publicUrl: string }): Promise<OpenedAccess> {
  if (config.auth === "off") return { access: createAuthOff(), devProvider: undefined };
  const policy = config.rbacPolicyFile === undefined ? DEFAULT_POLICY : loadPolicyFile(config.rbacPolicyFile);
  let devProvider: OpenedAccess["devProvider"];
  let issuer = config.oidcIssuer;
  if (usesDevIdentityProvider(config)) {
    if ((globalThis as { Bun?: unknown }).Bun !== undefined) {
      throw new Error(
        "the embedded development identity provider needs Node (oidc-provider is driven through node:http); under Bun set ANNAL_OIDC_ISSUER and ANNAL_OIDC_AUDIENCE to an external issuer, or ANNAL_AUTH=off for local experiments",
      );
    }
    const provider = await createDevIdentityProvider({ home: config.home, issuer: `${options.publicUrl}${IDENTITY_PROVIDER_MOUNT_PATH}`, audience: config.oidcAudience });
    devProvider = { ...provider, mountPath: IDENTITY_PROVIDER_MOUNT_PATH };
    issuer = provider.issuer;
  }
  if (issuer === undefined) throw new Error("unreachable: auth is on without an issuer");
  const verifier = createTokenVerifier(
    {},
    {
      issuer,
      audience: config.oidcAudience,
      algorithms: config.oidcAlgorithms,
      clockToleranceSeconds: config.oidcClockToleranceSeconds,
      verifiedCacheSeconds: config.oidcTokenCacheSeconds,
    },
  );
  return { access: createOidcAccessControl({ verifier }, { policy, rolesClaim: config.oidcRolesClaim }), devProvider };
}
