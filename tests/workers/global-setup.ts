// Starts the database bridge once for the whole Workers-pool run and hands its URL to the Worker.
import type { TestProject } from "vitest/node";
import { startTestDatabase } from "../support/database";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseBackend: string;
  }
}

export default async function setup(project: TestProject) {
  const database = await startTestDatabase();
  project.provide("databaseUrl", database.url);
  project.provide("databaseBackend", database.backend);
  return () => database.close();
}
