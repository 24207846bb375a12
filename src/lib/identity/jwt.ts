// Access tokens (docs/auth.md, docs/architecture.md "Contracts"): signed with the private key, verified with the public keys only.
// Keys are parsed and imported once per isolate; each request pays for one signature check and a claims parse.
import { errors, importJWK, type JWTHeaderParameters, jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { type Env, getConfig } from "../platform/env";
import { ApiError } from "../platform/errors";
import { createLogger } from "../platform/log";
import {
  KeyConfigError,
  type PublicJwk,
  parsePrivateJwk,
  parsePublicJwks,
  type SigningAlgorithm,
  samePublicKey,
  toPublicJwk,
} from "./keys";

/** RFC 9068's media type: keeps an access token from being accepted where another JWT from the same key is expected. */
const TOKEN_TYPE = "at+jwt";
/** Seconds of disagreement allowed between the signer's clock and a verifier's, for exp, nbf and iat. */
const CLOCK_TOLERANCE_SECONDS = 5;
/** No access token lives longer than the largest ACCESS_TOKEN_TTL_SECONDS, whatever its exp says. */
const MAX_TOKEN_AGE_SECONDS = 86_400;
/** Our tokens are well under 1 KiB; refusing huge ones early bounds the work an anonymous caller can cause. */
const MAX_TOKEN_LENGTH = 8 * 1024;
/** An isolate sees one env; the bound only keeps tests that build many envs from growing the caches forever. */
const CACHE_ENTRIES = 8;

export interface AccessClaims {
  sub: string;
  username: string;
  roles: string[];
  sid: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string;
}

interface TokenSubject {
  sub: string;
  username: string;
  roles: string[];
  sid: string;
}

const id = z.string().min(1).max(256);
const SubjectSchema = z.object({ sub: id, username: id, roles: z.array(z.string().min(1).max(64)).max(64), sid: id });
const ClaimsSchema = SubjectSchema.extend({
  iat: z.number().int(),
  exp: z.number().int(),
  iss: z.string(),
  aud: z.string(),
});

interface Verifier {
  byKid: Map<string, { alg: SigningAlgorithm; key: CryptoKey }>;
  algorithms: SigningAlgorithm[];
}

interface Signer {
  kid: string;
  alg: SigningAlgorithm;
  key: CryptoKey;
}

const configLog = createLogger("error", { module: "jwt" });

function remember<T>(cache: Map<string, T>, key: string, make: () => T): T {
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const value = make();
  const oldest = cache.size >= CACHE_ENTRIES ? cache.keys().next().value : undefined;
  if (oldest !== undefined) cache.delete(oldest);
  cache.set(key, value);
  return value;
}

/**
 * A key problem is an operator's to fix: the details go to the log (once per isolate, since outcomes are cached),
 * the client gets 503 without them.
 */
function notConfigured(what: "signing" | "verification", err: unknown): ApiError {
  // KeyConfigError never quotes key material; Web Crypto's import errors name the problem, not the key.
  const detail = err instanceof KeyConfigError ? err.message : `key import failed: ${String(err)}`;
  configLog.error(`token ${what} is not configured`, { problem: detail });
  return new ApiError("unavailable", `Token ${what} is not configured`, { cause: err });
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: ApiError };
const publicSets = new Map<string, Outcome<readonly PublicJwk[]>>();

function publicKeys(env: Env): readonly PublicJwk[] {
  const secret = env.JWT_PUBLIC_KEYS ?? "";
  const outcome = remember(publicSets, secret, (): Outcome<readonly PublicJwk[]> => {
    try {
      if (secret === "") throw new KeyConfigError("JWT_PUBLIC_KEYS is not set");
      return { ok: true, value: Object.freeze(parsePublicJwks(secret).map((k) => Object.freeze(toPublicJwk(k)))) };
    } catch (err) {
      return { ok: false, error: notConfigured("verification", err) };
    }
  });
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

const verifiers = new Map<string, Promise<Verifier>>();

function loadVerifier(env: Env): Promise<Verifier> {
  const keys = publicKeys(env);
  return remember(verifiers, env.JWT_PUBLIC_KEYS ?? "", async () => {
    try {
      const byKid = new Map<string, { alg: SigningAlgorithm; key: CryptoKey }>();
      for (const jwk of keys) {
        // jose hands back a CryptoKey for every asymmetric JWK; only "oct" keys come back as bytes.
        const key = (await importJWK(jwk, jwk.alg)) as CryptoKey;
        byKid.set(jwk.kid, { alg: jwk.alg, key });
      }
      return { byKid, algorithms: [...new Set(keys.map((k) => k.alg))] };
    } catch (err) {
      throw notConfigured("verification", err);
    }
  });
}

const signers = new Map<string, Promise<Signer>>();

function loadSigner(env: Env): Promise<Signer> {
  const secret = env.JWT_PRIVATE_KEY ?? "";
  return remember(signers, `${secret}\n${env.JWT_PUBLIC_KEYS ?? ""}`, async () => {
    try {
      if (secret === "") throw new KeyConfigError("JWT_PRIVATE_KEY is not set");
      const jwk = parsePrivateJwk(secret);
      // A token that no verifier can check is worse than none: refuse to sign until the public half is published.
      if (!env.JWT_PUBLIC_KEYS) throw new KeyConfigError("JWT_PUBLIC_KEYS is not set");
      const published = parsePublicJwks(env.JWT_PUBLIC_KEYS).find((k) => k.kid === jwk.kid);
      if (!published || !samePublicKey(published, jwk)) {
        throw new KeyConfigError(`JWT_PUBLIC_KEYS does not publish the signing key '${jwk.kid}'`);
      }
      const key = (await importJWK(jwk, jwk.alg, { extractable: false })) as CryptoKey;
      return { kid: jwk.kid, alg: jwk.alg, key };
    } catch (err) {
      throw notConfigured("signing", err);
    }
  });
}

/** Signs an access token for the subject with the current key; lifetime ACCESS_TOKEN_TTL_SECONDS. */
export async function signAccessToken(env: Env, subject: TokenSubject): Promise<{ token: string; expiresAt: Date }> {
  const config = getConfig(env);
  const signer = await loadSigner(env);
  // A bad subject is the caller's bug, not the client's input: let it surface as a 500.
  const { sub, username, roles, sid } = SubjectSchema.parse(subject);
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + config.accessTokenTtlSeconds;
  const token = await new SignJWT({ username, roles, sid })
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: TOKEN_TYPE })
    .setSubject(sub)
    .setIssuer(config.jwtIssuer)
    .setAudience(config.jwtAudience)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(signer.key);
  return { token, expiresAt: new Date(exp * 1000) };
}

// One answer for every forgery and mistake, so the message teaches an attacker nothing.
const invalidToken = () => new ApiError("unauthorized", "Invalid access token");

/**
 * Verifies an access token with the public keys: the algorithm is pinned to the configured keys' algorithms and
 * must match the key that `kid` names; iss, aud, exp, nbf and iat are checked; the claims must have their types.
 */
export async function verifyAccessToken(env: Env, token: string): Promise<AccessClaims> {
  const config = getConfig(env);
  const verifier = await loadVerifier(env);
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw invalidToken();
  const keyFor = (header: JWTHeaderParameters): CryptoKey => {
    const entry = header.kid === undefined ? undefined : verifier.byKid.get(header.kid);
    if (!entry || entry.alg !== header.alg) throw invalidToken();
    return entry.key;
  };
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, keyFor, {
      algorithms: verifier.algorithms,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      typ: TOKEN_TYPE,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      maxTokenAge: MAX_TOKEN_AGE_SECONDS,
      requiredClaims: ["sub", "iat", "exp"],
    }));
  } catch (err) {
    // jose checks the signature before any claim, so "expired" is said only of a token we really issued.
    if (err instanceof errors.JWTExpired) throw new ApiError("unauthorized", "Access token has expired");
    throw invalidToken();
  }
  const claims = ClaimsSchema.safeParse(payload);
  if (!claims.success) throw invalidToken();
  return claims.data;
}

/** The JWKS document for `/.well-known/jwks.json`: public members only (a private key is refused at parse). */
export function publicJwks(env: Env): { keys: PublicJwk[] } {
  return { keys: [...publicKeys(env)] };
}
