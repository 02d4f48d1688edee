import { describe, expect, it } from "vitest";
import { createMemorySecretProvider, watchSecret, type SecretProvider } from "../../../src/secrets/index.js";

describe("watchSecret", () => {
  it("keeps the current value, notices a rotation at the next check and tells its listeners", async () => {
    const provider = createMemorySecretProvider("ANNAL_DB_PASSWORD", "first-Vr8mQ2xK9pL4n");
    const watched = await watchSecret(provider, { intervalMs: 60_000 });
    const seen: string[] = [];
    watched.onChange((next, previous) => seen.push(`${previous.reveal()} -> ${next.reveal()}`));
    expect(await watched.check()).toBe(false);
    provider.set("second-Vr8mQ2xK9pL4n");
    expect(watched.current().reveal()).toBe("first-Vr8mQ2xK9pL4n");
    expect(await watched.check()).toBe(true);
    expect(watched.current().reveal()).toBe("second-Vr8mQ2xK9pL4n");
    expect(seen).toEqual(["first-Vr8mQ2xK9pL4n -> second-Vr8mQ2xK9pL4n"]);
    await watched.close();
  });

  it("polls on its own, and a failing source keeps the last value and reports the error", async () => {
    let fail = false;
    let value = "first-Vr8mQ2xK9pL4n";
    const provider: SecretProvider = {
      source: "test:",
      get: () => (fail ? Promise.reject(new Error("source down")) : Promise.resolve(createMemorySecretProvider("S", value).get())).then((s) => s),
      close: () => Promise.resolve(),
    };
    const errors: unknown[] = [];
    const watched = await watchSecret(provider, { intervalMs: 10, onError: (e) => errors.push(e) });
    fail = true;
    await new Promise((r) => setTimeout(r, 50));
    expect(errors.length).toBeGreaterThan(0);
    expect(watched.current().reveal()).toBe("first-Vr8mQ2xK9pL4n");
    fail = false;
    value = "second-Vr8mQ2xK9pL4n";
    await new Promise((r) => setTimeout(r, 50));
    expect(watched.current().reveal()).toBe("second-Vr8mQ2xK9pL4n");
    await watched.close();
  });
});
