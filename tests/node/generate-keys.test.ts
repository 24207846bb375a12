// scripts/generate-keys.ts: its output must be usable as the two secrets as printed, and its functions in Node.
import { spawnSync } from "node:child_process";
import { compactVerify, createLocalJWKSet, importJWK, jwtVerify, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { generateKeyPairSecrets, mergePublicKeys } from "../../scripts/generate-keys";
import { parsePrivateJwk, parsePublicJwks } from "../../src/lib/identity/keys";

function runCli(...args: string[]) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/generate-keys.ts", ...args], {
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The stdout lines as NAME → value, the way .dev.vars (dotenv) reads them. */
function secretsFrom(stdout: string): Record<string, string> {
  const lines = stdout.trim().split("\n");
  expect(lines).toHaveLength(2);
  return Object.fromEntries(
    lines.map((line) => {
      const at = line.indexOf("=");
      return [line.slice(0, at), line.slice(at + 1)];
    }),
  );
}

describe("generateKeyPairSecrets", () => {
  for (const alg of ["ES256", "EdDSA"] as const) {
    it(`makes an ${alg} pair whose private key signs what the public set verifies`, async () => {
      const secrets = await generateKeyPairSecrets(alg, `test-${alg}`);
      const privateJwk = parsePrivateJwk(secrets.JWT_PRIVATE_KEY);
      expect(privateJwk).toMatchObject({ kid: `test-${alg}`, alg });
      const [publicJwk] = parsePublicJwks(secrets.JWT_PUBLIC_KEYS);
      expect(publicJwk).toMatchObject({ kid: `test-${alg}`, alg, use: "sig" });
      expect(publicJwk).not.toHaveProperty("d");

      const token = await new SignJWT({ hello: "world" })
        .setProtectedHeader({ alg, kid: privateJwk.kid })
        .sign(await importJWK(privateJwk, alg));
      const { payload } = await jwtVerify(token, createLocalJWKSet(JSON.parse(secrets.JWT_PUBLIC_KEYS)), {
        algorithms: [alg],
      });
      expect(payload.hello).toBe("world");
    });
  }

  it("names keys by algorithm and date when no kid is given, each one different", async () => {
    const a = parsePrivateJwk((await generateKeyPairSecrets("ES256")).JWT_PRIVATE_KEY);
    const b = parsePrivateJwk((await generateKeyPairSecrets("ES256")).JWT_PRIVATE_KEY);
    expect(a.kid).toMatch(/^es256-\d{8}-[0-9a-f]{8}$/);
    expect(a.kid).not.toBe(b.kid);
  });
});

describe("mergePublicKeys", () => {
  it("puts the current key first and keeps the previous one for the rotation", async () => {
    const previous = await generateKeyPairSecrets("ES256", "old");
    const current = await generateKeyPairSecrets("EdDSA", "new");
    const merged = parsePublicJwks(mergePublicKeys(current.JWT_PUBLIC_KEYS, previous.JWT_PUBLIC_KEYS));
    expect(merged.map((k) => k.kid)).toEqual(["new", "old"]);
  });

  it("refuses a private key in either set", async () => {
    const pair = await generateKeyPairSecrets("EdDSA", "k");
    const leaked = JSON.stringify({ keys: [JSON.parse(pair.JWT_PRIVATE_KEY)] });
    expect(() => mergePublicKeys(pair.JWT_PUBLIC_KEYS, leaked)).toThrow(/private key/);
    expect(() => mergePublicKeys(leaked, pair.JWT_PUBLIC_KEYS)).toThrow(/private key/);
  });
});

describe("the command", () => {
  it("prints two NAME=value lines whose values parse as the secrets", async () => {
    const { code, stdout, stderr } = runCli("--alg", "EdDSA", "--kid", "cli-1");
    expect(code, stderr).toBe(0);
    const secrets = secretsFrom(stdout);
    expect(Object.keys(secrets)).toEqual(["JWT_PRIVATE_KEY", "JWT_PUBLIC_KEYS"]);
    const privateJwk = parsePrivateJwk(secrets.JWT_PRIVATE_KEY ?? "");
    expect(privateJwk).toMatchObject({ kty: "OKP", crv: "Ed25519", kid: "cli-1", alg: "EdDSA" });
    expect(parsePublicJwks(secrets.JWT_PUBLIC_KEYS ?? "")).toHaveLength(1);
    // The printed pair belongs together.
    const jws = await new SignJWT({}).setProtectedHeader({ alg: "EdDSA" }).sign(await importJWK(privateJwk, "EdDSA"));
    const [publicJwk] = JSON.parse(secrets.JWT_PUBLIC_KEYS ?? "").keys;
    await expect(compactVerify(jws, await importJWK(publicJwk, "EdDSA"))).resolves.toBeTruthy();
  });

  it("defaults to ES256 and merges --previous for a rotation", async () => {
    const previous = await generateKeyPairSecrets("ES256", "old");
    const { code, stdout, stderr } = runCli("--kid", "new", "--previous", previous.JWT_PUBLIC_KEYS);
    expect(code, stderr).toBe(0);
    const secrets = secretsFrom(stdout);
    expect(parsePrivateJwk(secrets.JWT_PRIVATE_KEY ?? "").alg).toBe("ES256");
    expect(parsePublicJwks(secrets.JWT_PUBLIC_KEYS ?? "").map((k) => k.kid)).toEqual(["new", "old"]);
  });

  it("refuses an unsupported algorithm with a usage line and exit code 2", () => {
    const { code, stdout, stderr } = runCli("--alg", "HS256");
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain("usage:");
  });
});
