// Access tokens inside workerd: signing, verification with the public keys only, rotation, and the attacks.
import { env } from "cloudflare:workers";
import { decodeProtectedHeader, importJWK, type JWTPayload, SignJWT } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type AccessClaims, publicJwks, signAccessToken, verifyAccessToken } from "../../src/lib/identity/jwt";
import {
  generateKeyPairSecrets,
  type KeyPairSecrets,
  mergePublicKeys,
  type PublicJwk,
  type SigningAlgorithm,
} from "../../src/lib/identity/keys";
import type { Env } from "../../src/lib/platform/env";
import { ApiError } from "../../src/lib/platform/errors";

const SUBJECT = { sub: "user-1", username: "ada", roles: ["user"], sid: "session-1" };
const encoder = new TextEncoder();
const b64url = (text: string) => btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const now = () => Math.floor(Date.now() / 1000);

function envWith(secrets: Partial<KeyPairSecrets>, vars: Partial<Env> = {}): Env {
  return { ...env, JWT_PRIVATE_KEY: undefined, JWT_PUBLIC_KEYS: undefined, ...secrets, ...vars };
}

async function expectCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<ApiError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  const apiError = err as ApiError;
  expect(apiError.code).toBe(code);
  if (message) expect(apiError.message).toMatch(message);
  return apiError;
}

const refused = (e: Env, token: string) => expectCode(verifyAccessToken(e, token), "unauthorized");

/** Signs whatever an attacker or a buggy issuer might, with the real private key unless told otherwise. */
async function forge(
  secrets: KeyPairSecrets,
  claims: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  const jwk = JSON.parse(secrets.JWT_PRIVATE_KEY) as { kid: string; alg: SigningAlgorithm };
  const key = await importJWK(jwk, jwk.alg);
  return new SignJWT(claims).setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: "at+jwt", ...header }).sign(key);
}

function validClaims(overrides: JWTPayload = {}): JWTPayload {
  const iat = now();
  return { ...SUBJECT, iat, exp: iat + 900, iss: "tessera", aud: "tessera-api", ...overrides };
}

let es256: KeyPairSecrets;
let eddsa: KeyPairSecrets;

beforeAll(async () => {
  es256 = await generateKeyPairSecrets("ES256", "es-1");
  eddsa = await generateKeyPairSecrets("EdDSA", "ed-1");
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("sign and verify", () => {
  for (const alg of ["ES256", "EdDSA"] as const) {
    it(`round-trips with ${alg}, kid and typ in the header, every claim present`, async () => {
      const secrets = alg === "ES256" ? es256 : eddsa;
      const e = envWith(secrets);
      const { token, expiresAt } = await signAccessToken(e, SUBJECT);
      expect(decodeProtectedHeader(token)).toEqual({ alg, kid: alg === "ES256" ? "es-1" : "ed-1", typ: "at+jwt" });
      const claims = await verifyAccessToken(e, token);
      expect(claims).toEqual<AccessClaims>({
        ...SUBJECT,
        iat: expect.any(Number),
        exp: claims.iat + 900,
        iss: "tessera",
        aud: "tessera-api",
        jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      // Each token its own id (RFC 7519 jti), even for the same subject in the same second.
      expect((await verifyAccessToken(e, (await signAccessToken(e, SUBJECT)).token)).jti).not.toBe(claims.jti);
      expect(Math.abs(claims.iat - now())).toBeLessThanOrEqual(1);
      expect(expiresAt.getTime()).toBe(claims.exp * 1000);
    });
  }

  it("takes issuer, audience and lifetime from the vars", async () => {
    const e = envWith(es256, {
      JWT_ISSUER: "auth.example",
      JWT_AUDIENCE: "api.example",
      ACCESS_TOKEN_TTL_SECONDS: "60",
    });
    const claims = await verifyAccessToken(e, (await signAccessToken(e, SUBJECT)).token);
    expect(claims).toMatchObject({ iss: "auth.example", aud: "api.example" });
    expect(claims.exp - claims.iat).toBe(60);
    // The same token is not for a service configured with the defaults.
    await refused(envWith(es256), (await signAccessToken(e, SUBJECT)).token);
  });

  it("verifies with the public keys alone (no private key in the verifying env)", async () => {
    const { token } = await signAccessToken(envWith(eddsa), SUBJECT);
    const claims = await verifyAccessToken(envWith({ JWT_PUBLIC_KEYS: eddsa.JWT_PUBLIC_KEYS }), token);
    expect(claims.sub).toBe("user-1");
  });

  it("imports the keys once per isolate, not per request", async () => {
    const fresh = await generateKeyPairSecrets("ES256", "es-cache");
    const e = envWith(fresh);
    const importKey = vi.spyOn(crypto.subtle, "importKey");
    const { token } = await signAccessToken(e, SUBJECT);
    await verifyAccessToken(e, token);
    const afterFirst = importKey.mock.calls.length;
    expect(afterFirst).toBeGreaterThan(0);
    for (let i = 0; i < 10; i++) {
      await signAccessToken(e, SUBJECT);
      await verifyAccessToken({ ...e }, token); // a different env object with the same secrets shares the keys
    }
    expect(importKey.mock.calls.length).toBe(afterFirst);
  });

  it("checks a token's signature once per isolate, and a remembered token still expires", async () => {
    const e = envWith(es256);
    const verify = vi.spyOn(crypto.subtle, "verify");
    const { token } = await signAccessToken(e, SUBJECT);
    const first = await verifyAccessToken(e, token);
    const second = await verifyAccessToken({ ...e }, token);
    expect(second).toEqual(first);
    expect(verify).toHaveBeenCalledTimes(1);

    // Accepted within the 5 s clock tolerance, so remembered; once past it, refused as expired all the same.
    const ending = await forge(es256, validClaims({ iat: now() - 900, exp: now() - 4 }));
    await expect(verifyAccessToken(e, ending)).resolves.toBeTruthy();
    const until = (now() + 3) * 1000;
    while (Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 250));
    await expectCode(verifyAccessToken(e, ending), "unauthorized", /expired/);
  });
});

describe("attacks and bad tokens are refused as unauthorized", () => {
  let e: Env;
  let publicJwk: PublicJwk;
  beforeAll(() => {
    e = envWith(es256);
    const [first] = publicJwks(e).keys;
    if (!first) throw new Error("no public key");
    publicJwk = first;
  });

  it("alg none, with and without a signature", async () => {
    const header = b64url(JSON.stringify({ alg: "none", typ: "at+jwt", kid: "es-1" }));
    const payload = b64url(JSON.stringify(validClaims()));
    await refused(e, `${header}.${payload}.`);
    await refused(e, `${header}.${payload}`);
    const valid = (await signAccessToken(e, SUBJECT)).token;
    await refused(e, `${header}.${payload}.${valid.split(".")[2]}`);
  });

  it("HS256 signed with the public key as the HMAC secret (JWK JSON, x coordinate, SPKI DER, PEM)", async () => {
    const key = await crypto.subtle.importKey("jwk", publicJwk, { name: "ECDSA", namedCurve: "P-256" }, true, [
      "verify",
    ]);
    // workerd's typings answer ArrayBuffer | JsonWebKey for every format; "spki" is always bytes.
    const spki = new Uint8Array((await crypto.subtle.exportKey("spki", key)) as ArrayBuffer);
    const pem = `-----BEGIN PUBLIC KEY-----\n${btoa(String.fromCharCode(...spki))}\n-----END PUBLIC KEY-----\n`;
    const secrets = [
      encoder.encode(JSON.stringify(publicJwk)),
      encoder.encode(es256.JWT_PUBLIC_KEYS),
      encoder.encode(publicJwk.x),
      spki,
      encoder.encode(pem),
    ];
    for (const secret of secrets) {
      const token = await new SignJWT(validClaims())
        .setProtectedHeader({ alg: "HS256", kid: "es-1", typ: "at+jwt" })
        .sign(secret);
      await refused(e, token);
    }
  });

  it("a tampered payload (roles raised to admin) under a genuine signature", async () => {
    const [header, , signature] = (await signAccessToken(e, SUBJECT)).token.split(".");
    const payload = b64url(JSON.stringify(validClaims({ roles: ["admin"] })));
    await refused(e, `${header}.${payload}.${signature}`);
  });

  it("a tampered header (kid switched) and a truncated signature", async () => {
    const rotated = envWith({ JWT_PUBLIC_KEYS: mergePublicKeys(es256.JWT_PUBLIC_KEYS, eddsa.JWT_PUBLIC_KEYS) });
    const [, payload, signature] = (await signAccessToken(e, SUBJECT)).token.split(".");
    const header = b64url(JSON.stringify({ alg: "EdDSA", kid: "ed-1", typ: "at+jwt" }));
    await refused(rotated, `${header}.${payload}.${signature}`);
    const token = (await signAccessToken(e, SUBJECT)).token;
    await refused(e, token.slice(0, -4));
  });

  it("an expired token, saying so", async () => {
    const iat = now() - 3600;
    await expectCode(
      verifyAccessToken(e, await forge(es256, validClaims({ iat, exp: iat + 900 }))),
      "unauthorized",
      /expired/,
    );
  });

  it("expiry within the clock tolerance is still accepted; just past it is not", async () => {
    await expect(
      verifyAccessToken(e, await forge(es256, validClaims({ iat: now() - 900, exp: now() - 2 }))),
    ).resolves.toBeTruthy();
    await refused(e, await forge(es256, validClaims({ iat: now() - 900, exp: now() - 10 })));
  });

  it("a lifetime longer than any configured TTL, whatever exp says", async () => {
    const iat = now() - 86_400 - 60;
    await refused(e, await forge(es256, validClaims({ iat, exp: now() + 3600 })));
  });

  it("wrong audience, audience list without ours, wrong issuer", async () => {
    await refused(e, await forge(es256, validClaims({ aud: "another-api" })));
    await refused(e, await forge(es256, validClaims({ aud: ["another-api"] })));
    await refused(e, await forge(es256, validClaims({ iss: "evil" })));
  });

  it("signed by an unknown key: unknown kid, a known kid with another key's signature, no kid", async () => {
    const stranger = await generateKeyPairSecrets("ES256", "stranger");
    await refused(e, await forge(stranger, validClaims()));
    await refused(e, await forge(stranger, validClaims(), { kid: "es-1" }));
    const noKid = await new SignJWT(validClaims())
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt" })
      .sign(await importJWK(JSON.parse(es256.JWT_PRIVATE_KEY) as JsonWebKey, "ES256"));
    await refused(e, noKid);
  });

  it("an algorithm the keys are not configured for", async () => {
    // EdDSA is a supported algorithm, but only ES256 keys are configured here.
    await refused(e, await forge(eddsa, validClaims(), { kid: "es-1" }));
  });

  it("nbf in the future; iat in the future", async () => {
    await refused(e, await forge(es256, validClaims({ nbf: now() + 120 })));
    await refused(e, await forge(es256, validClaims({ iat: now() + 120 })));
    await expect(verifyAccessToken(e, await forge(es256, validClaims({ nbf: now() + 2 })))).resolves.toBeTruthy();
  });

  it("a JWT of another type (typ missing or JWT)", async () => {
    await refused(e, await forge(es256, validClaims(), { typ: "JWT" }));
    const jwk = JSON.parse(es256.JWT_PRIVATE_KEY) as JsonWebKey;
    const untyped = await new SignJWT(validClaims())
      .setProtectedHeader({ alg: "ES256", kid: "es-1" })
      .sign(await importJWK(jwk, "ES256"));
    await refused(e, untyped);
  });

  for (const claim of ["sub", "username", "roles", "sid", "iat", "exp", "iss", "aud"]) {
    it(`missing claim: ${claim}`, async () => {
      const claims = validClaims();
      delete claims[claim];
      await refused(e, await forge(es256, claims));
    });
  }

  it("claims of the wrong type", async () => {
    for (const bad of [
      { roles: "admin" },
      { roles: [1] },
      { sub: 42 },
      { sub: "" },
      { sid: null },
      { username: ["ada"] },
      { exp: "tomorrow" },
    ]) {
      await refused(e, await forge(es256, validClaims(bad as JWTPayload)));
    }
  });

  it("garbage: empty, not a JWT, bad base64, oversized", async () => {
    const valid = (await signAccessToken(e, SUBJECT)).token;
    for (const token of [
      "",
      "abc",
      "a.b.c",
      "....",
      `${valid}.x`,
      valid.replace(".", ".!"),
      `${valid}${"A".repeat(9000)}`,
    ]) {
      await refused(e, token);
    }
  });

  it("never says why beyond expiry, and never leaks internals", async () => {
    const err = await refused(e, await forge(es256, validClaims({ aud: "another-api" })));
    expect(err.message).toBe("Invalid access token");
    expect(err.status).toBe(401);
  });
});

describe("rotation", () => {
  it("accepts the previous key's tokens while it is published, and refuses them once it is removed", async () => {
    const previous = await generateKeyPairSecrets("ES256", "old");
    const current = await generateKeyPairSecrets("EdDSA", "new");
    const oldToken = (await signAccessToken(envWith(previous), SUBJECT)).token;
    const both = mergePublicKeys(current.JWT_PUBLIC_KEYS, previous.JWT_PUBLIC_KEYS);

    const during = envWith({ JWT_PRIVATE_KEY: current.JWT_PRIVATE_KEY, JWT_PUBLIC_KEYS: both });
    const newToken = (await signAccessToken(during, SUBJECT)).token;
    expect(decodeProtectedHeader(newToken).kid).toBe("new");
    expect((await verifyAccessToken(during, oldToken)).sub).toBe("user-1");
    expect((await verifyAccessToken(during, newToken)).sub).toBe("user-1");
    expect(publicJwks(during).keys.map((k) => k.kid)).toEqual(["new", "old"]);

    const after = envWith(current);
    await refused(after, oldToken);
    expect((await verifyAccessToken(after, newToken)).sub).toBe("user-1");
  });

  it("mergePublicKeys keeps one copy of a key and refuses a kid reused for another key", async () => {
    const a = await generateKeyPairSecrets("ES256", "a");
    expect(JSON.parse(mergePublicKeys(a.JWT_PUBLIC_KEYS, a.JWT_PUBLIC_KEYS)).keys).toHaveLength(1);
    const impostor = await generateKeyPairSecrets("ES256", "a");
    expect(() => mergePublicKeys(a.JWT_PUBLIC_KEYS, impostor.JWT_PUBLIC_KEYS)).toThrow(/two different keys/);
  });
});

describe("publicJwks", () => {
  it("serves only public members, with use sig", () => {
    for (const secrets of [es256, eddsa]) {
      const { keys } = publicJwks(envWith(secrets));
      expect(keys).toHaveLength(1);
      const [key] = keys;
      expect(key).not.toHaveProperty("d");
      expect(Object.keys(key ?? {}).sort()).toEqual(
        secrets === es256 ? ["alg", "crv", "kid", "kty", "use", "x", "y"] : ["alg", "crv", "kid", "kty", "use", "x"],
      );
      expect(key?.use).toBe("sig");
      expect(JSON.stringify(keys)).not.toContain((JSON.parse(secrets.JWT_PRIVATE_KEY) as { d: string }).d);
    }
  });
  it("drops members that other tools add (key_ops, ext) and still verifies", async () => {
    const decorated = JSON.stringify({
      keys: (JSON.parse(es256.JWT_PUBLIC_KEYS) as { keys: object[] }).keys.map((k) => ({
        ...k,
        key_ops: ["verify"],
        ext: true,
      })),
    });
    const e = envWith({ JWT_PRIVATE_KEY: es256.JWT_PRIVATE_KEY, JWT_PUBLIC_KEYS: decorated });
    expect(publicJwks(e).keys[0]).not.toHaveProperty("key_ops");
    expect((await verifyAccessToken(e, (await signAccessToken(e, SUBJECT)).token)).sub).toBe("user-1");
  });
});

describe("configuration problems answer 503 without internals", () => {
  const quiet = () => vi.spyOn(console, "error").mockImplementation(() => {});

  it("no signing key", async () => {
    quiet();
    await expectCode(
      signAccessToken(envWith({ JWT_PUBLIC_KEYS: es256.JWT_PUBLIC_KEYS }), SUBJECT),
      "unavailable",
      /signing is not configured/,
    );
  });

  it("no public keys", async () => {
    quiet();
    const e = envWith({});
    await expectCode(verifyAccessToken(e, "a.b.c"), "unavailable", /verification is not configured/);
    expect(() => publicJwks(e)).toThrow(ApiError);
  });

  it("a private key pasted into JWT_PUBLIC_KEYS is refused, and the log names the problem but not the key", async () => {
    const log = quiet();
    const privateJwk = JSON.parse(eddsa.JWT_PRIVATE_KEY) as { d: string };
    const leaked = JSON.stringify({ keys: [privateJwk] });
    const e = envWith({ JWT_PRIVATE_KEY: eddsa.JWT_PRIVATE_KEY, JWT_PUBLIC_KEYS: leaked });
    const err = await expectCode(verifyAccessToken(e, "a.b.c"), "unavailable");
    expect(err.message).not.toContain(privateJwk.d);
    expect(() => publicJwks(e)).toThrow(ApiError);
    await expectCode(signAccessToken(e, SUBJECT), "unavailable");
    const logged = log.mock.calls.map((c) => String(c[0])).join("\n");
    expect(logged).toContain("private key");
    expect(logged).not.toContain(privateJwk.d);
  });

  it("a signing key whose public half is not published (tokens no one could verify)", async () => {
    quiet();
    const e = envWith({ JWT_PRIVATE_KEY: es256.JWT_PRIVATE_KEY, JWT_PUBLIC_KEYS: eddsa.JWT_PUBLIC_KEYS });
    await expectCode(signAccessToken(e, SUBJECT), "unavailable");
  });

  it("malformed secrets: not JSON, wrong curve, unsupported algorithm, duplicate kid", async () => {
    quiet();
    const publicKey = (JSON.parse(es256.JWT_PUBLIC_KEYS) as { keys: Record<string, unknown>[] }).keys[0];
    const bad = [
      "not json",
      "{}",
      '{"keys":[]}',
      JSON.stringify({ keys: [{ ...publicKey, crv: "P-384" }] }),
      JSON.stringify({ keys: [{ ...publicKey, alg: "RS256" }] }),
      JSON.stringify({ keys: [{ ...publicKey, alg: "none" }] }),
      JSON.stringify({ keys: [publicKey, publicKey] }),
    ];
    for (const JWT_PUBLIC_KEYS of bad) {
      await expectCode(verifyAccessToken(envWith({ JWT_PUBLIC_KEYS }), "a.b.c"), "unavailable");
    }
    await expectCode(
      signAccessToken(
        envWith({ JWT_PRIVATE_KEY: es256.JWT_PUBLIC_KEYS, JWT_PUBLIC_KEYS: es256.JWT_PUBLIC_KEYS }),
        SUBJECT,
      ),
      "unavailable",
    );
  });
});
