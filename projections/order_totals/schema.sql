-- The worked example of docs/projections.md: one row per order stream, and the
-- running total per currency of the orders that are not cancelled.
CREATE TABLE orders (
  stream_id      text    COLLATE "C" PRIMARY KEY,
  total          numeric NOT NULL,
  currency       text    NOT NULL,
  customer_id    text,
  status         text    NOT NULL CHECK (status IN ('placed', 'cancelled')),
  placed_at      text    NOT NULL,
  last_position  bigint  NOT NULL
);

CREATE TABLE totals (
  currency  text    COLLATE "C" PRIMARY KEY,
  orders    bigint  NOT NULL,
  amount    numeric NOT NULL
);
