-- Log followers (projections, the Kafka relay, the sealer): one cursor row per follower
-- name. A follower owns its row while it holds the advisory lock of its name on a
-- dedicated connection; winning the lock bumps `epoch`, and every later write of the
-- owner is conditional on that epoch, so a stale owner (paused, partitioned, its lock
-- connection lost) is fenced out and can never move the cursor again.

CREATE TABLE annal.followers (
  name           text        PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_.:#-]{0,120}$'),
  epoch          bigint      NOT NULL DEFAULT 0,
  -- The last position whose effect is done, and that event's hash: the next event must
  -- be position + 1 and carry prev_hash = last_hash, or the follower stops.
  position       bigint      NOT NULL DEFAULT 0 CHECK (position >= 0),
  last_hash      bytea       NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000' CHECK (length(last_hash) = 32),
  owner          text,
  status         text        NOT NULL DEFAULT 'idle' CHECK (status IN ('idle', 'running', 'stopped', 'failed')),
  -- Set by an operator; the owner stops applying while it is true (and keeps its lease).
  paused         boolean     NOT NULL DEFAULT false,
  -- Written by the owner's loop, never by a timer: a loop that is stuck or dead stops beating.
  heartbeat_at   timestamptz,
  progressed_at  timestamptz,
  error_code     text,
  error_message  text,
  error_position bigint,
  updated_at     timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE ON annal.followers TO annal_app;
