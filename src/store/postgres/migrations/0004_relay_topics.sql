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
