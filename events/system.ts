import { defineEventType } from "./define.js";

/** The stream of projection administration: every skip, rebuild and cut-over, for auditors. */
export const PROJECTIONS_STREAM = "annal:projections";

const actor = { type: "string", minLength: 1, maxLength: 200, description: "who asked (token subject, or `cli:<user>`)" } as const;
const projection = { type: "string", pattern: "^[a-z][a-z0-9_]{0,40}$" } as const;
const position = { type: "integer", minimum: 1 } as const;

export interface ProjectionEventSkippedData {
  projection: string;
  build: number;
  position: number;
  eventHash: string;
  reason: string;
  actor: string;
}
export const ProjectionEventSkipped = defineEventType<ProjectionEventSkippedData>({
  type: "ProjectionEventSkipped",
  description: "An operator told one build of a projection not to apply the event at `position` (whose hash is `eventHash`). The event stays in the log; only this read model leaves it out.",
  schema: {
    type: "object",
    required: ["projection", "build", "position", "eventHash", "reason", "actor"],
    additionalProperties: false,
    properties: { projection, build: position, position, eventHash: { type: "string", minLength: 44, maxLength: 44 }, reason: { type: "string", minLength: 1, maxLength: 2000 }, actor },
  },
});

export interface ProjectionRebuildStartedData {
  projection: string;
  build: number;
  version: number;
  codeHash: string;
  replaces: number | null;
  actor: string;
}
export const ProjectionRebuildStarted = defineEventType<ProjectionRebuildStartedData>({
  type: "ProjectionRebuildStarted",
  description: "A new build of a projection started replaying the log from position 1 beside the active one.",
  schema: {
    type: "object",
    required: ["projection", "build", "version", "codeHash", "replaces", "actor"],
    additionalProperties: false,
    properties: { projection, build: position, version: position, codeHash: { type: "string" }, replaces: { type: ["integer", "null"] }, actor },
  },
});

export interface ProjectionCutOverData {
  projection: string;
  from: number | null;
  to: number;
  position: number;
  commitment: string;
  actor: string;
}
export const ProjectionCutOver = defineEventType<ProjectionCutOverData>({
  type: "ProjectionCutOver",
  description: "Readers of a projection moved from build `from` to build `to`, which had applied the log up to `position` with state commitment `commitment`.",
  schema: {
    type: "object",
    required: ["projection", "from", "to", "position", "commitment", "actor"],
    additionalProperties: false,
    properties: { projection, from: { type: ["integer", "null"] }, to: position, position: { type: "integer", minimum: 0 }, commitment: { type: "string" }, actor },
  },
});

/** The stream of the archive: one event per sealed segment, so the log itself records what was sealed where. */
export const ARCHIVE_STREAM = "annal:archive";

export interface SegmentSealedData {
  segment: number;
  from: number;
  to: number;
  object: string;
  versionId: string;
  /** base64 SHA-256 of the bundle's bytes. */
  bundleSha256: string;
  /** base64 SHA-256 of the bundle's manifest.note: the next segment's `previous`. */
  manifestHash: string;
  retainUntil: string;
  /** Where it went; a local directory says NOT WORM. */
  archive: string;
  worm: boolean;
}
export const SegmentSealed = defineEventType<SegmentSealedData>({
  type: "SegmentSealed",
  description: "Events `from`..`to` were sealed as segment `segment`: a bundle uploaded as `object` version `versionId`, verified in the store (COMPLIANCE retention until `retainUntil`, bytes hash) before this event was written.",
  schema: {
    type: "object",
    required: ["segment", "from", "to", "object", "versionId", "bundleSha256", "manifestHash", "retainUntil", "archive", "worm"],
    additionalProperties: false,
    properties: {
      segment: position,
      from: position,
      to: position,
      object: { type: "string", minLength: 1, maxLength: 1024 },
      versionId: { type: "string", minLength: 1, maxLength: 1024 },
      bundleSha256: { type: "string", minLength: 44, maxLength: 44 },
      manifestHash: { type: "string", minLength: 44, maxLength: 44 },
      retainUntil: { type: "string", minLength: 20, maxLength: 40 },
      archive: { type: "string", minLength: 1, maxLength: 2000 },
      worm: { type: "boolean" },
    },
  },
});
