export * from "./tenancy";
export * from "./tokens";
export * from "./audit";
export * from "./quotas";
export * from "./tracking";
export * from "./registry";
export * from "./jobs";
export * from "./deployments";
