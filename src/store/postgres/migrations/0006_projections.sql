-- Projections: Postgres read models built by log followers (docs/projections.md).
-- Each build of a projection lives in its own schema (projection_<name>__b<build>);
-- readers use the views of the stable schema projection_<name>, which a cut-over
-- re-points in one transaction.

CREATE TABLE annal.projection_builds (
  projection     text        NOT NULL CHECK (projection ~ '^[a-z][a-z0-9_]{0,40}$'),
  build          integer     NOT NULL CHECK (build >= 1),
  version        integer     NOT NULL CHECK (version >= 1),
  -- SHA-256 of the projection's folder (handler and SQL): a changed handler with an
  -- unchanged version is refused at start-up.
  code_hash      text        NOT NULL,
  schema_name    text        NOT NULL UNIQUE,
  state          text        NOT NULL CHECK (state IN ('building', 'active', 'retired')),
  -- LtHash16 of the build's rows (2048 bytes), and the log position it reflects; written
  -- in the transaction that moves the build's follower cursor.
  commitment     bytea       NOT NULL CHECK (length(commitment) = 2048),
  position       bigint      NOT NULL DEFAULT 0,
  created_at     timestamptz NOT NULL DEFAULT now(),
  activated_at   timestamptz,
  retired_at     timestamptz,
  PRIMARY KEY (projection, build)
);
-- At most one active build per projection.
CREATE UNIQUE INDEX projection_builds_one_active ON annal.projection_builds (projection) WHERE state = 'active';

-- Operator decisions not to apply one event to one build. Each is also a
-- ProjectionEventSkipped event in the log (stream annal:projections).
CREATE TABLE annal.projection_skips (
  projection     text        NOT NULL,
  build          integer     NOT NULL,
  position       bigint      NOT NULL,
  event_hash     bytea       NOT NULL,
  reason         text        NOT NULL,
  actor          text        NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (projection, build, position),
  FOREIGN KEY (projection, build) REFERENCES annal.projection_builds (projection, build)
);
CREATE TRIGGER projection_skips_insert_only BEFORE UPDATE OR DELETE ON annal.projection_skips
  FOR EACH ROW EXECUTE FUNCTION annal.forbid_change();

-- Row changes of the current projector transaction, as SHA-256 digests of the rows'
-- canonical text with +1 (row added) or -1 (row removed); the projector reads and
-- deletes them before it commits, so rows never outlive a transaction (hence UNLOGGED).
CREATE UNLOGGED TABLE annal.projection_changes (
  schema_name  text     NOT NULL,
  digest       bytea    NOT NULL,
  sign         smallint NOT NULL
);
CREATE INDEX projection_changes_schema ON annal.projection_changes (schema_name);

-- On every table of a build. Only the projector may write a read model: it sets
-- annal.projection_writer to the build's schema for its transaction; any other write is
-- refused (a superuser who disables triggers is caught by `annal projections verify`).
CREATE FUNCTION annal.capture_projection_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('annal.projection_writer', true) IS DISTINCT FROM TG_TABLE_SCHEMA THEN
    RAISE EXCEPTION 'annal: %.% is a read model: only its projector writes it', TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
    INSERT INTO annal.projection_changes VALUES (TG_TABLE_SCHEMA, sha256(convert_to(jsonb_build_array(TG_TABLE_NAME, to_jsonb(NEW))::text, 'UTF8')), 1);
  END IF;
  IF TG_OP = 'UPDATE' OR TG_OP = 'DELETE' THEN
    INSERT INTO annal.projection_changes VALUES (TG_TABLE_SCHEMA, sha256(convert_to(jsonb_build_array(TG_TABLE_NAME, to_jsonb(OLD))::text, 'UTF8')), -1);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION annal.refuse_projection_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'annal: %.% is a read model: TRUNCATE is not tracked, delete rows instead', TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;

GRANT SELECT, INSERT, UPDATE ON annal.projection_builds TO annal_app;
GRANT SELECT, INSERT ON annal.projection_skips TO annal_app;
GRANT SELECT, INSERT, DELETE ON annal.projection_changes TO annal_app;
GRANT EXECUTE ON FUNCTION annal.capture_projection_change(), annal.refuse_projection_truncate() TO annal_app;
-- Builds are schemas the service creates at run time (a rebuild), as the application role.
DO $$
BEGIN
  EXECUTE format('GRANT CREATE ON DATABASE %I TO annal_app', current_database());
END $$;
