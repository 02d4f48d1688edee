import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { createMemorySecretProvider, kafkaSasl, watchSecret, type ConfiguredSecrets } from "../../../src/secrets/index.js";

describe("Kafka SASL from a credential provider", () => {
  it("gives kafkajs a password that is read at each authentication, so a rotation reaches new connections", async () => {
    const config = loadConfig({ ANNAL_KAFKA_SASL_MECHANISM: "scram-sha-512", ANNAL_KAFKA_SASL_USERNAME: "annal", ANNAL_KAFKA_SASL_PASSWORD: "file:/run/secrets/kafka" });
    const provider = createMemorySecretProvider("ANNAL_KAFKA_SASL_PASSWORD", "first-Vr8mQ2xK9pL4n");
    const password = await watchSecret(provider, { intervalMs: 60_000 });
    const { sasl } = kafkaSasl(config, { kafkaSaslPassword: password } as ConfiguredSecrets);
    expect(sasl).toMatchObject({ mechanism: "scram-sha-512", username: "annal" });
    expect((sasl as { password: string }).password).toBe("first-Vr8mQ2xK9pL4n");
    provider.set("second-Vr8mQ2xK9pL4n");
    await password.check();
    expect((sasl as { password: string }).password).toBe("second-Vr8mQ2xK9pL4n");
    await password.close();
  });

  it("refuses an incomplete SASL setting", () => {
    expect(() => loadConfig({ ANNAL_KAFKA_SASL_MECHANISM: "scram-sha-512" })).toThrow(/together/);
    expect(() => loadConfig({ ANNAL_KAFKA_SASL_MECHANISM: "gssapi", ANNAL_KAFKA_SASL_USERNAME: "a", ANNAL_KAFKA_SASL_PASSWORD: "env:X" })).toThrow(/plain, scram-sha-256 or scram-sha-512/);
  });
});
