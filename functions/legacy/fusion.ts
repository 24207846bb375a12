// /api/v1/fusion: the old multimodal-fusion library's `fuse(inputs) -> FusionResult`, as one route over the new
// fusion (functions/fusion.ts). The library answered in the call, so this route waits for the result (up to a
// minute, or `Prefer: wait=N`); a fusion still running then answers 202 with its id and a `Location` to poll.
// Shapes and choices: docs/legacy.md ("Fusion").
import type { Context } from "hono";
import { z } from "zod";
import {
  fusionIdFromLegacy,
  LEGACY_FUSION_LIMITS,
  LegacyFusionRequest,
  LegacyFusionResult,
  legacyFusionId,
  toFusionRequest,
  toLegacyResult,
} from "../../src/lib/fusion/legacy";
import type { FusionResult } from "../../src/lib/fusion/model";
import { principal } from "../../src/lib/identity/auth";
import type { AppEnv } from "../../src/lib/platform/env";
import { ApiError } from "../../src/lib/platform/errors";
import { ApiRouter } from "../../src/lib/platform/router";
import { fuseAndWait, WAIT_MAX_MS, waitForFusion } from "../fusion";

const Running = z.object({ id: z.string(), status: z.literal("running") });

function answer(c: Context<AppEnv>, result: FusionResult): Response {
  if (result.status !== "running") return c.json(toLegacyResult(result), 200);
  const id = legacyFusionId(result.id);
  c.header("Location", `/api/v1/fusion/${id}`);
  return c.json({ id, status: "running" as const }, 202);
}

export const legacyFusionService = new ApiRouter("legacy-fusion")
  .route(
    {
      method: "post",
      path: "/",
      auth: "user",
      summary: "Legacy multimodal fusion: ModalityInput items in, the old FusionResult out",
      description:
        "The old library's `{id, modality, content, metadata, timestamp}` inputs (text, code, speech, audio, vision; " +
        "content as a string, AudioData, ImageData png/jpeg or the file's bytes), `{inputs}` or a bare list. Waits " +
        `for the result (at most ${WAIT_MAX_MS / 1000} s, or \`Prefer: wait=N\`); 202 with the id while it still ` +
        "runs. docs/legacy.md.",
      body: LegacyFusionRequest,
      bodyLimit: LEGACY_FUSION_LIMITS.maxBodyBytes,
      timeoutMs: WAIT_MAX_MS + 10_000,
      responses: {
        200: { description: "The result in the old FusionResult shape", schema: LegacyFusionResult },
        202: { description: "Still running: poll the Location", schema: Running },
      },
    },
    async (c, { body }) => answer(c, await fuseAndWait(c, toFusionRequest(body), WAIT_MAX_MS)),
  )
  .route(
    {
      method: "get",
      path: "/:id",
      auth: "user",
      summary: "Legacy multimodal fusion: a fusion's result in the old shape",
      params: z.object({ id: z.uuid() }),
      responses: {
        200: { description: "The result in the old FusionResult shape", schema: LegacyFusionResult },
        202: { description: "Still running", schema: Running },
        404: { description: "No such fusion of yours" },
      },
    },
    async (c, { params }) => {
      const result = await waitForFusion(c.env, fusionIdFromLegacy(params.id), principal(c).sub, 0);
      if (!result) throw new ApiError("not_found", "No such fusion");
      return answer(c, result);
    },
  );
