import { describe, expect, it } from "vitest";
import { isLedgerError } from "../../../src/core/index.js";
import { maskKeyUri, parseKeyUri } from "../../../src/keys/index.js";

describe("key URIs", () => {
  it("parses file: and env:", () => {
    expect(parseKeyUri("file:/etc/annal/ledger.pem")).toEqual({ scheme: "file", path: "/etc/annal/ledger.pem" });
    expect(parseKeyUri("file:///etc/annal/my%20key.pem")).toEqual({ scheme: "file", path: "/etc/annal/my key.pem" });
    expect(parseKeyUri("file:relative/key.pem")).toEqual({ scheme: "file", path: "relative/key.pem" });
    expect(parseKeyUri("env:ANNAL_LEDGER_KEY_PEM")).toEqual({ scheme: "env", variable: "ANNAL_LEDGER_KEY_PEM" });
  });

  it("parses an RFC 7512 pkcs11: URI: path attributes, query attributes, pct-encoded id", () => {
    const parsed = parseKeyUri("pkcs11:token=Annal%20HSM;serial=0001;slot-id=7;object=ledger;id=%01%a2;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin");
    expect(parsed).toEqual({
      scheme: "pkcs11",
      pkcs11: { token: "Annal HSM", serial: "0001", slotId: 7n, object: "ledger", id: new Uint8Array([0x01, 0xa2]), modulePath: "/usr/lib/softhsm/libsofthsm2.so", pinSource: "file:/run/pin" },
    });
  });

  it.each([
    ["pkcs11:object=k", /needs module-path/],
    ["pkcs11:token=t?module-path=/m.so", /object= \(its label\) or id=/],
    ["pkcs11:object=k;colour=red?module-path=/m.so", /unknown or empty path attribute "colour"/],
    ["pkcs11:object=k?module-path=/m.so&pin-source=/p&pin-value=1", /both pin-source and pin-value/],
    ["pkcs11:object=k;type=public?module-path=/m.so", /type must be "private"/],
    ["pkcs11:object=k;slot-id=x?module-path=/m.so", /slot-id must be a decimal/],
    ["pkcs11:object=k;object=j?module-path=/m.so", /repeats object/],
    ["env:not-a-name", /must name an environment variable/],
    ["file:", /has no path/],
    ["vault-transit:transit/", /vault-transit:<mount>\/<key>/],
    ["vault-transit:transit/k?addr=http://user:pw@vault:8200", /no credentials or path/],
    ["vault-transit:transit/k?token=abc", /unknown attribute "token"/],
    ["awskms:arn:aws:kms:eu-west-1:1:key/x", /must name a key ARN/],
    ["awskms:alias/k?secret=1", /unknown attribute "secret"/],
    ["kms:x", /unknown signing key URI scheme "kms:"/],
    ["/etc/annal/key.pem", /unknown signing key URI scheme/],
  ])("refuses %s with ERR_CONFIG", (uri, message) => {
    let thrown: unknown;
    try {
      parseKeyUri(uri);
    } catch (error) {
      thrown = error;
    }
    expect(isLedgerError(thrown, "ERR_CONFIG")).toBe(true);
    expect((thrown as Error).message).toMatch(message);
  });

  it("never echoes a pin-value in an error", () => {
    expect(() => parseKeyUri("pkcs11:object=k;bogus=1?module-path=/m.so&pin-value=Secret123")).toThrow(expect.objectContaining({ message: expect.not.stringContaining("Secret123") as unknown }));
  });

  it("parses vault-transit: and awskms:", () => {
    expect(parseKeyUri("vault-transit:transit/annal-ledger?addr=https://vault.example:8200&version=3")).toEqual({ scheme: "vault-transit", mount: "transit", key: "annal-ledger", addr: "https://vault.example:8200", namespace: undefined, version: 3 });
    expect(parseKeyUri("vault-transit:teams/ledger/transit/k")).toMatchObject({ mount: "teams/ledger/transit", key: "k" });
    expect(parseKeyUri("awskms:arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")).toMatchObject({ keyId: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", region: "eu-west-1" });
    expect(parseKeyUri("awskms:alias/annal-witness?region=us-east-2&endpoint=https://kms.internal:443")).toEqual({ scheme: "awskms", keyId: "alias/annal-witness", region: "us-east-2", endpoint: "https://kms.internal:443" });
  });

  it("masks pin-value only", () => {
    expect(maskKeyUri("pkcs11:object=k?module-path=/m.so&pin-value=1234")).toBe("pkcs11:object=k?module-path=/m.so&pin-value=****");
    expect(maskKeyUri("pkcs11:object=k?pin-value=1234&module-path=/m.so")).toBe("pkcs11:object=k?pin-value=****&module-path=/m.so");
    expect(maskKeyUri("vault-transit:transit/k")).toBe("vault-transit:transit/k");
  });
});
