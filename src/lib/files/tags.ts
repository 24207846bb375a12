// Smart tags: a typed table of rules, each turning what is known about a file into tags. Deployments disable rules
// or add pattern rules with FILES_TAG_RULES (JSON); users' own tags live apart (files.user_tags) and rules never
// touch them.
import { z } from "zod";
import { hasControlCharacters } from "../platform/control-characters";
import type { Category } from "./media";

export const TAG_LIMITS = { maxLength: 64, maxUserTags: 32, maxRuleTags: 32 } as const;

/**
 * A tag: trimmed, lower case, 1–64 characters, no control characters and no comma (the search filter's
 * separator). Tags compare case-insensitively, so they are stored lower-cased.
 */
export const Tag = z
  .string()
  .trim()
  .toLowerCase()
  .min(1)
  .max(TAG_LIMITS.maxLength)
  .refine((t) => !hasControlCharacters(t) && !t.includes(","), "no control characters or commas");

/** What a rule may look at. `content` is the indexed text (capped), or null for a file without one. */
export interface FileFacts {
  name: string;
  path: string;
  extension: string;
  mediaType: string;
  category: Category;
  language: string | null;
  size: number;
  content: string | null;
}

export interface TagRule {
  /** Stable id: FILES_TAG_RULES disables a rule by it. */
  id: string;
  description: string;
  tags(facts: FileFacts): readonly string[];
}

/** A rule that tags a file when a pattern matches one of its fields. */
interface PatternRule {
  id: string;
  tag: string;
  field: "name" | "path" | "content";
  /** A regular expression (JavaScript syntax). */
  pattern: string;
  /** RegExp flags; default "i". */
  flags?: string;
}

/** Folders whose children are projects: /projects/<name>/…, /repos/<name>/… */
const PROJECT_PARENTS = new Set(["projects", "project", "repos", "repositories", "src", "code", "work", "workspace"]);

function projectOf(path: string): string | null {
  const segments = path.split("/").filter(Boolean);
  // The last segment is the file itself: a project needs a folder of its own.
  if (segments.length >= 3 && PROJECT_PARENTS.has((segments[0] as string).toLowerCase())) {
    return (segments[1] as string).toLowerCase();
  }
  return null;
}

/** Size classes: upper bounds in bytes (exclusive) and their tag. */
const SIZE_CLASSES: readonly { below: number; tag: string }[] = [
  { below: 1, tag: "size:empty" },
  { below: 10 * 1024, tag: "size:small" },
  { below: 1024 * 1024, tag: "size:medium" },
  { below: 10 * 1024 * 1024, tag: "size:large" },
  { below: Number.POSITIVE_INFINITY, tag: "size:huge" },
];

const BUILTIN_RULES: readonly TagRule[] = [
  { id: "extension", description: "the extension, e.g. `md`", tags: (f) => (f.extension ? [f.extension] : []) },
  {
    id: "category",
    description: "code, document, data, media, archive or other",
    tags: (f) => [f.category],
  },
  {
    id: "language",
    description: "the programming language of source files",
    tags: (f) => (f.language ? [f.language] : []),
  },
  {
    id: "project",
    description:
      "`project:<name>` for files under /projects/<name>/ (also repos, repositories, src, code, work, workspace)",
    tags: (f) => {
      const project = projectOf(f.path);
      return project ? [`project:${project}`] : [];
    },
  },
  {
    id: "size-class",
    description:
      "`size:empty` (0 B), `size:small` (< 10 KiB), `size:medium` (< 1 MiB), `size:large` (< 10 MiB), `size:huge`",
    tags: (f) => [SIZE_CLASSES.find((s) => f.size < s.below)?.tag ?? "size:huge"],
  },
];

/** Content- and name-derived rules, as data. */
const BUILTIN_PATTERN_RULES: readonly PatternRule[] = [
  { id: "license", tag: "license", field: "name", pattern: "^(licen[cs]e|copying|unlicense)(\\.(md|txt))?$" },
  { id: "readme", tag: "readme", field: "name", pattern: "^readme(\\.[a-z0-9]+)?$" },
  { id: "changelog", tag: "changelog", field: "name", pattern: "^(changelog|changes|history)(\\.[a-z0-9]+)?$" },
  { id: "test-name", tag: "test", field: "name", pattern: "([._-](test|spec)\\.[a-z0-9]+$)|(^test_.+\\.py$)" },
  { id: "test-folder", tag: "test", field: "path", pattern: "/(tests?|__tests__|specs?)/" },
  { id: "todo", tag: "todo", field: "content", pattern: "\\b(TODO|FIXME)\\b", flags: "" },
  {
    id: "config",
    tag: "config",
    field: "name",
    pattern: "^(package\\.json|tsconfig(\\..+)?\\.json|dockerfile|makefile|\\.env(\\..+)?|.+\\.(toml|ini|cfg|conf))$",
  },
  {
    id: "licence-text",
    tag: "license",
    field: "content",
    pattern: "(Permission is hereby granted, free of charge|GNU GENERAL PUBLIC LICENSE|Apache License,? Version 2\\.0)",
  },
];

export const TagRulesConfig = z
  .object({
    /** Rule ids to switch off (built-in or pattern rules). */
    disable: z.array(z.string().min(1).max(64)).max(100).default([]),
    /** More pattern rules. */
    add: z
      .array(
        z.object({
          id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/),
          tag: Tag,
          field: z.enum(["name", "path", "content"]),
          pattern: z
            .string()
            .min(1)
            .max(500)
            .refine((p) => {
              try {
                new RegExp(p);
                return true;
              } catch {
                return false;
              }
            }, "not a valid regular expression"),
          flags: z
            .string()
            .regex(/^[imsu]*$/)
            .optional(),
        }),
      )
      .max(100)
      .default([]),
  })
  .strict();
export type TagRulesConfig = z.output<typeof TagRulesConfig>;

function patternRule(rule: PatternRule): TagRule {
  const re = new RegExp(rule.pattern, rule.flags ?? "i");
  return {
    id: rule.id,
    description: `\`${rule.tag}\` when the ${rule.field} matches /${rule.pattern}/${rule.flags ?? "i"}`,
    tags: (f) => {
      const value = rule.field === "content" ? f.content : f[rule.field];
      return value !== null && re.test(value) ? [rule.tag] : [];
    },
  };
}

/** The rules in force: the built-ins and the configured ones, less the disabled. */
export function activeRules(config: TagRulesConfig): TagRule[] {
  const off = new Set(config.disable);
  return [...BUILTIN_RULES, ...[...BUILTIN_PATTERN_RULES, ...config.add].map(patternRule)].filter(
    (r) => !off.has(r.id),
  );
}

/** Every tag the rules give a file: sorted, distinct, each a valid tag, at most TAG_LIMITS.maxRuleTags. */
export function ruleTags(rules: readonly TagRule[], facts: FileFacts): string[] {
  const tags = new Set<string>();
  for (const rule of rules) {
    for (const tag of rule.tags(facts)) {
      const parsed = Tag.safeParse(tag);
      if (parsed.success) tags.add(parsed.data);
    }
  }
  return [...tags].sort().slice(0, TAG_LIMITS.maxRuleTags);
}
