-- Sealed segments of the log (src/archive): one row per segment, moved through the
-- sealing protocol plan -> build -> verify locally -> upload -> verify remotely -> mark
-- sealed -> SegmentSealed event. Every step is recorded before the next begins, so a
-- sealer that crashed anywhere finishes the job on its next run. Rows are written only by
-- the sealer that holds the follower lease `sealer:*`, conditional on its fencing epoch.

CREATE TABLE annal.archive_segments (
  segment          bigint      PRIMARY KEY CHECK (segment >= 1),
  from_position    bigint      NOT NULL UNIQUE CHECK (from_position >= 1),
  to_position      bigint      NOT NULL CHECK (to_position >= from_position),
  object_name      text        NOT NULL UNIQUE,
  state            text        NOT NULL CHECK (state IN ('planned', 'built', 'uploaded', 'verified', 'sealed', 'conflict')),
  -- Fixed at planning, so a rebuild after a crash uses the same inputs.
  checkpoint_note  text        NOT NULL,
  keys_json        text        NOT NULL,
  previous_manifest_hash text,
  -- Set by build (SHA-256 of the bundle, base64) and upload (version id, retain-until).
  bundle_sha256    text,
  bundle_bytes     bigint,
  manifest_hash    text,
  version_id       text,
  retain_until     timestamptz,
  sealed_event_position bigint,
  error            text,
  planned_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  sealed_at        timestamptz,
  -- Segments tile the log: each starts where the previous ended.
  CHECK (segment > 1 OR from_position = 1)
);

GRANT SELECT, INSERT, UPDATE ON annal.archive_segments TO annal_app;
