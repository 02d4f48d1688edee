-- The Kafka relay's topics: the partition count recorded when the relay first used a
-- topic. A stream's partition is a function of that count, so if the topic's partitions
-- change under the relay, new events of a stream would land in another partition than
-- its history: the relay refuses to run instead.

CREATE TABLE annal.relay_topics (
  topic       text        PRIMARY KEY,
  partitions  integer     NOT NULL CHECK (partitions >= 1),
  created_at  timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT ON annal.relay_topics TO annal_app;

-- Projections replayed from Kafka (`annal projections run --from kafka`) in a database of
-- their own: each build's schema, the consumer cursor and the rows' commitment, all moved
-- in the transaction that applies a batch.
CREATE TABLE annal.kafka_projections (
  projection  text        NOT NULL,
  topic       text        NOT NULL,
  schema_name text        NOT NULL UNIQUE,
  code_hash   text        NOT NULL,
  position    bigint      NOT NULL DEFAULT 0,
  cursor      jsonb,
  commitment  bytea       NOT NULL CHECK (length(commitment) = 2048),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (projection, topic)
);

GRANT SELECT, INSERT, UPDATE ON annal.kafka_projections TO annal_app;
