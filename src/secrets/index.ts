export { Secret, SECRET_MASK, isSecret } from "./secret.js";
export type { SecretProvider } from "./secret-provider.js";
export { createEnvSecretProvider } from "./env-secret.js";
export { createFileSecretProvider, type FileSecretOptions } from "./file-secret.js";
export { createVaultKvSecretProvider, type VaultKvOptions } from "./vault-kv-secret.js";
export { createMemorySecretProvider, type MemorySecretProvider } from "./memory-secret.js";
export { openSecretProvider, isSecretUri, SECRET_SCHEMES, type OpenSecretOptions } from "./open-secret.js";
export { watchSecret, type WatchedSecret, type WatchOptions } from "./watched-secret.js";
export { openConfiguredSecrets, type ConfiguredSecrets } from "./configured-secrets.js";
