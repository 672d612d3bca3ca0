export * from "./index.js";
export * from "./testing.js";
