import { describe, expect, it } from "vitest";
import { type Env, getConfig, varName } from "../../src/lib/platform/env";

/** getConfig reads vars only; the bindings are never touched, so a bag of strings stands in for Env. */
const configOf = (vars: Record<string, string>) => getConfig(vars as unknown as Env);

describe("config from the zod schema", () => {
  it("names each key's var in SCREAMING_SNAKE_CASE, a group's name as its prefix", () => {
    expect(varName(["maxBodyBytes"])).toBe("MAX_BODY_BYTES");
    expect(varName(["hub", "maxFrameBytes"])).toBe("HUB_MAX_FRAME_BYTES");
    expect(varName(["gatewayBreaker", "openMs"])).toBe("GATEWAY_BREAKER_OPEN_MS");
  });

  it("applies the defaults when no var is set", () => {
    const config = configOf({});
    expect(config.environment).toBe("development");
    expect(config.maxBodyBytes).toBe(1024 * 1024);
    expect(config.hub.maxFrameBytes).toBe(64 * 1024);
    expect(config.gatewayBreaker).toEqual({ failures: 5, openMs: 10_000 });
    expect(config.jobsInputUrlAllowPrivate).toBe(false);
    expect(config.memorySharedNamespaces.size).toBe(0);
  });

  it("reads top-level and grouped vars by their names", () => {
    const config = configOf({
      MAX_BODY_BYTES: "2048",
      HUB_MAX_FRAME_BYTES: "1024",
      GATEWAY_BREAKER_FAILURES: "9",
      FILES_MAX_BYTES: "77",
      CORS_ORIGINS: " https://a.example , https://b.example ",
      MEMORY_SHARED_NAMESPACES: '{"team":["admin"]}',
      JOBS_INPUT_URL_ALLOW_PRIVATE: "true",
    });
    expect(config.maxBodyBytes).toBe(2048);
    expect(config.hub.maxFrameBytes).toBe(1024);
    expect(config.gatewayBreaker.failures).toBe(9);
    expect(config.files.maxBytes).toBe(77);
    expect(config.corsOrigins).toEqual(["https://a.example", "https://b.example"]);
    expect(config.memorySharedNamespaces.get("team")).toEqual(["admin"]);
    expect(config.jobsInputUrlAllowPrivate).toBe(true);
  });

  it("fails naming every bad var, grouped ones by their var name", () => {
    expect(() => configOf({ MAX_BODY_BYTES: "12", HUB_MAX_FRAME_BYTES: "lots", FILES_TAG_RULES: "{" })).toThrow(
      /MAX_BODY_BYTES: .*HUB_MAX_FRAME_BYTES: .*FILES_TAG_RULES: must be JSON/,
    );
  });

  it("parses one env object once", () => {
    const env = { MAX_BODY_BYTES: "4096" } as unknown as Env;
    expect(getConfig(env)).toBe(getConfig(env));
  });
});
