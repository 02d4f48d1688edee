-- The stream catalogue: one row per stream. Byte-ordered ids (COLLATE "C") so prefix
-- filters and paging by stream id are exact ranges.
CREATE TABLE streams (
  stream_id          text   COLLATE "C" PRIMARY KEY,
  version            bigint NOT NULL,
  event_count        bigint NOT NULL,
  first_position     bigint NOT NULL,
  last_position      bigint NOT NULL,
  first_recorded_at  text   NOT NULL,
  last_recorded_at   text   NOT NULL
);
