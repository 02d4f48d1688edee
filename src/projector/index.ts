// `annal/projections`: what projection authors import.
export { defineProjection, type LoadedProjection, type ProjectedEvent, type ProjectionDb, type ProjectionDefinition } from "./define.js";
export { createProjectionSpec, type ProjectionSpec } from "./spec.js";
