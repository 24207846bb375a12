// Conversation contexts: a summary of one conversation and the ids of the memories it drew on, for the old
// memory-service's clients (docs/memory.md "Conversation contexts"). A store replaces the conversation's context; a
// read answers the latest one. Identity is the caller's, never a header or a body field (docs/legacy.md).
import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { HttpDb } from "../db/client";
import { conversationContexts } from "../db/schema";
import { hasControlCharacters } from "../platform/control-characters";
import { ApiError } from "../platform/errors";

export const CONTEXT_LIMITS = {
  /** The old column was VARCHAR(36) (a UUID); clients also sent names such as "conv-123". */
  conversationIdMaxLength: 255,
  /** Characters, as a memory's content. */
  summaryMaxLength: 32_768,
  maxMemories: 1_000,
  memoryIdMaxLength: 255,
} as const;

const Identifier = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !hasControlCharacters(s), "control characters are not allowed");

export const ConversationId = Identifier(CONTEXT_LIMITS.conversationIdMaxLength);

/** Go's encoder sends every field: null for an unset slice, "" for an unset string. */
export const NewContext = z
  .object({
    conversation_id: ConversationId,
    summary: z.string().max(CONTEXT_LIMITS.summaryMaxLength).default(""),
    memories: z.preprocess(
      (v) => (v === null ? [] : v),
      z.array(Identifier(CONTEXT_LIMITS.memoryIdMaxLength)).max(CONTEXT_LIMITS.maxMemories).default([]),
    ),
  })
  .strip();
export type NewContext = z.infer<typeof NewContext>;

export const ConversationContext = z.object({
  id: z.string(),
  user_id: z.string(),
  conversation_id: z.string(),
  summary: z.string(),
  memories: z.array(z.string()),
  created_at: z.string(),
  updated_at: z.string(),
});
export type ConversationContext = z.infer<typeof ConversationContext>;

const columns = {
  id: conversationContexts.id,
  userId: conversationContexts.userId,
  conversationId: conversationContexts.conversationId,
  summary: conversationContexts.summary,
  memories: conversationContexts.memories,
  createdAt: conversationContexts.createdAt,
  updatedAt: conversationContexts.updatedAt,
};

type Row = typeof conversationContexts.$inferSelect;

const toContext = (row: Row): ConversationContext => ({
  id: row.id,
  user_id: row.userId,
  conversation_id: row.conversationId,
  summary: row.summary,
  memories: row.memories,
  created_at: row.createdAt.toISOString(),
  updated_at: row.updatedAt.toISOString(),
});

/** Stores the caller's context for a conversation, replacing any earlier one (a new id, as each old store made). */
export async function storeContext(database: HttpDb, userId: string, input: NewContext): Promise<ConversationContext> {
  const [row] = await database
    .insert(conversationContexts)
    .values({ userId, conversationId: input.conversation_id, summary: input.summary, memories: input.memories })
    .onConflictDoUpdate({
      target: [conversationContexts.userId, conversationContexts.conversationId],
      set: {
        id: sql`gen_random_uuid()`,
        summary: input.summary,
        memories: input.memories,
        createdAt: sql`now()`,
        updatedAt: sql`now()`,
      },
    })
    .returning(columns);
  if (!row) throw new Error("INSERT … RETURNING returned no row");
  return toContext(row);
}

/** The caller's latest context for a conversation; another user's is 404 like a missing one. */
export async function latestContext(
  database: HttpDb,
  userId: string,
  conversationId: string,
): Promise<ConversationContext> {
  const [row] = await database
    .select(columns)
    .from(conversationContexts)
    .where(and(eq(conversationContexts.userId, userId), eq(conversationContexts.conversationId, conversationId)));
  if (!row) throw new ApiError("not_found", "Context not found");
  return toContext(row);
}
