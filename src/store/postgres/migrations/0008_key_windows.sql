-- Key rotation (docs/operations.md "Key rotation", docs/verification.md "How a verifier
-- follows keys"): each signing key signs one window of positions, from_position ..
-- to_position inclusive. The key in force has from_position set and to_position NULL;
-- a key registered but never put in force has both NULL. A KeyRotated event at position r
-- closes the old key's window at r and opens the new key's at r + 1, in the transaction
-- that writes the event, under the chain-head lock.
ALTER TABLE annal.signing_keys
  ADD COLUMN from_position bigint CHECK (from_position >= 1),
  ADD COLUMN to_position   bigint,
  ADD CONSTRAINT signing_keys_window CHECK (to_position IS NULL OR (from_position IS NOT NULL AND to_position >= from_position - 1));

-- A log written before windows existed: each key's window is the span of the events it
-- signed; the key of the last event stays in force. (Before rotation existed a restart
-- with another key file changed keys silently; those spans are what the log shows.)
UPDATE annal.signing_keys k
   SET from_position = s.first, to_position = CASE WHEN s.last = (SELECT max(position) FROM annal.events) THEN NULL ELSE s.last END
  FROM (SELECT key_id, min(position) AS first, max(position) AS last FROM annal.events GROUP BY key_id) s
 WHERE s.key_id = k.key_id;

-- At most one key in force.
CREATE UNIQUE INDEX signing_keys_in_force ON annal.signing_keys ((true)) WHERE from_position IS NOT NULL AND to_position IS NULL;
