import { commonConfigSchema } from "@atomic-ci/runtime";
import { z } from "zod";

/** The `dashboard` section: where the page is served and how much of the pipeline it remembers. */
export const dashboardConfigSchema = commonConfigSchema.extend({
  dashboard: z
    .strictObject({
      http: z
        .strictObject({
          host: z.string().min(1).default("0.0.0.0").describe("Address of the dashboard page (GET /, /api/state, /events)"),
          port: z.int().min(0).max(65_535).default(8083).describe("Port of the dashboard page; 0 picks a free one"),
        })
        .prefault({}),
      title: z.string().min(1).max(200).default("atomic-ci").describe("Heading of the page"),
      maxChangeSets: z.int().min(1).max(10_000).default(100).describe("Change sets shown (the newest); older ones, their composes, tests and decisions are forgotten"),
      maxWaivers: z.int().min(1).max(10_000).default(50).describe("Waivers shown (the newest)"),
      maxReleasesPerStream: z.int().min(1).max(1_000).default(10).describe("Delivered releases shown per stream (the newest)"),
      pushIntervalMs: z.int().min(0).max(60_000).default(250).describe("Updates arriving within this many ms are pushed to the open pages as one"),
      heartbeatSeconds: z.int().min(1).max(300).default(15).describe("A comment is sent on idle event streams this often, so proxies (the OpenShift router) keep them open"),
      maxClients: z.int().min(1).max(100_000).default(200).describe("Open event streams (live pages) at most; more are answered 503"),
      snapshot: z
        .strictObject({
          enabled: z.boolean().default(true).describe("Keep a snapshot of the projection in Redis (when `redis.url` is set), so a restart shows the pipeline at once"),
          key: z.string().min(1).default("atomic-ci:dashboard:snapshot").describe("Redis key of the snapshot"),
          intervalMs: z.int().min(100).max(3_600_000).default(5_000).describe("The snapshot is written at most this often, when something changed"),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type DashboardConfig = z.output<typeof dashboardConfigSchema>;
export type DashboardSection = DashboardConfig["dashboard"];
