-- Annal's log. Every object lives in schema `annal`.
-- Hashes are raw 32-byte bytea; data and metadata are stored as the exact RFC 8785
-- canonical text that was hashed (not jsonb: jsonb rewrites numbers and rejects \u0000,
-- and a verifier must see the bytes that were hashed).

CREATE SCHEMA IF NOT EXISTS annal;

CREATE TABLE annal.events (
  position          bigint  PRIMARY KEY CHECK (position >= 1),
  stream_id         text    NOT NULL,
  stream_version    bigint  NOT NULL CHECK (stream_version >= 1),
  event_id          uuid    NOT NULL UNIQUE,
  type              text    NOT NULL,
  recorded_at       text    NOT NULL,
  metadata          text    NOT NULL,
  data_hash         bytea   NOT NULL CHECK (length(data_hash) = 32),
  prev_hash         bytea   NOT NULL CHECK (length(prev_hash) = 32),
  stream_prev_hash  bytea   NOT NULL CHECK (length(stream_prev_hash) = 32),
  hash              bytea   NOT NULL CHECK (length(hash) = 32),
  key_id            text    NOT NULL,
  signature         bytea   NOT NULL CHECK (length(signature) = 64),
  UNIQUE (stream_id, stream_version)
);

-- Payloads beside the header, so a redaction deletes a payload and keeps its hash.
CREATE TABLE annal.payloads (
  position  bigint PRIMARY KEY REFERENCES annal.events (position),
  data      text   NOT NULL,
  salt      bytea  NOT NULL CHECK (length(salt) = 32)
);

-- One row per stream: its last version and event hash, for expected-version checks
-- and the per-stream chain. Written only under the chain-head lock.
CREATE TABLE annal.streams (
  stream_id  text   PRIMARY KEY,
  version    bigint NOT NULL,
  last_hash  bytea  NOT NULL
);

-- The single chain head: locked FOR UPDATE by every append batch, so positions are
-- assigned in commit order across every instance. `frontier` is the Merkle tree's
-- right edge (the roots of its perfect subtrees, 32 bytes each, largest first).
CREATE TABLE annal.chain_head (
  id        smallint PRIMARY KEY CHECK (id = 1),
  position  bigint   NOT NULL,
  hash      bytea    NOT NULL,
  frontier  bytea    NOT NULL
);
INSERT INTO annal.chain_head (id, position, hash, frontier) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000', '\x');

-- How far the log is known durable (WAL flushed). Append batches commit with
-- synchronous_commit off so the next batch need not wait for this one's fsync; a separate
-- synchronous write of this row then flushes every batch before it, and only then are
-- their appends acknowledged. Readers see positions up to here, never an event that a
-- database crash could still take back.
CREATE TABLE annal.durable_head (
  id        smallint PRIMARY KEY CHECK (id = 1),
  position  bigint   NOT NULL
);
INSERT INTO annal.durable_head (id, position) VALUES (1, 0);

CREATE TABLE annal.checkpoints (
  tree_size   bigint      PRIMARY KEY,
  root_hash   bytea       NOT NULL,
  chain_head  bytea       NOT NULL,
  note        text        NOT NULL,
  key_id      text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Roots of the perfect Merkle subtrees at levels 4, 8, 12, ... (a level-4k node covers
-- 16^k leaves), written in the append transaction. With the leaf hashes (derived from
-- events.hash) they answer any inclusion or consistency proof with O(log n) reads: the
-- tlog-tiles idea with 16-wide strata instead of every level, 1/15 row per event.
CREATE TABLE annal.merkle_nodes (
  level  smallint NOT NULL CHECK (level > 0 AND level % 4 = 0),
  index  bigint   NOT NULL CHECK (index >= 0),
  hash   bytea    NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (level, index)
);

CREATE TABLE annal.idempotency (
  principal     text        NOT NULL,
  key           text        NOT NULL,
  request_hash  bytea       NOT NULL,
  receipt       text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (principal, key)
);

CREATE TABLE annal.signing_keys (
  key_id       text        PRIMARY KEY,
  algorithm    text        NOT NULL,
  public_key   bytea       NOT NULL,
  note_name    text        NOT NULL,
  valid_from   timestamptz NOT NULL DEFAULT now(),
  valid_to     timestamptz
);

-- Raised by an optimistic append batch whose base (chain head position and hash) is no
-- longer the head: the whole statement rolls back and the ledger retries under the lock.
CREATE FUNCTION annal.batch_conflict() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'annal: the chain head moved under an optimistic append batch' USING ERRCODE = 'AN409';
END $$;

-- Insert-only: no UPDATE, DELETE or TRUNCATE of the log, whatever the role.
CREATE FUNCTION annal.forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'annal.%: % is forbidden, the log is append-only', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER events_insert_only BEFORE UPDATE OR DELETE ON annal.events
  FOR EACH ROW EXECUTE FUNCTION annal.forbid_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON annal.events
  FOR EACH STATEMENT EXECUTE FUNCTION annal.forbid_change();
CREATE TRIGGER checkpoints_insert_only BEFORE UPDATE OR DELETE ON annal.checkpoints
  FOR EACH ROW EXECUTE FUNCTION annal.forbid_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON annal.checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION annal.forbid_change();
CREATE TRIGGER merkle_nodes_insert_only BEFORE UPDATE OR DELETE ON annal.merkle_nodes
  FOR EACH ROW EXECUTE FUNCTION annal.forbid_change();
CREATE TRIGGER merkle_nodes_no_truncate BEFORE TRUNCATE ON annal.merkle_nodes
  FOR EACH STATEMENT EXECUTE FUNCTION annal.forbid_change();
-- Payloads may be deleted (redaction), never rewritten.
CREATE TRIGGER payloads_no_update BEFORE UPDATE ON annal.payloads
  FOR EACH ROW EXECUTE FUNCTION annal.forbid_change();
CREATE TRIGGER payloads_no_truncate BEFORE TRUNCATE ON annal.payloads
  FOR EACH STATEMENT EXECUTE FUNCTION annal.forbid_change();

-- The application role: what the service runs as (SET ROLE after connecting).
-- Roles are cluster-wide, so creating it tolerates another database having done so.
DO $$
BEGIN
  CREATE ROLE annal_app NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

GRANT USAGE ON SCHEMA annal TO annal_app;
GRANT EXECUTE ON FUNCTION annal.batch_conflict() TO annal_app;
GRANT SELECT, INSERT ON annal.events, annal.checkpoints, annal.payloads, annal.merkle_nodes TO annal_app;
GRANT SELECT, INSERT, UPDATE ON annal.streams, annal.chain_head, annal.durable_head, annal.idempotency, annal.signing_keys TO annal_app;
REVOKE UPDATE, DELETE, TRUNCATE ON annal.events, annal.checkpoints, annal.merkle_nodes FROM annal_app;
-- Readiness checks that every migration is applied, as the application role.
GRANT SELECT ON annal.schema_migrations TO annal_app;
