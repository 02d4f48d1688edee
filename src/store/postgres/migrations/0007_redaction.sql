-- Redaction (docs/verification.md section 4): the application role may DELETE a payload
-- row, and nothing else changes. Events keep data_hash, so the chain, the signatures and
-- the Merkle tree still verify; UPDATE and TRUNCATE of payloads stay forbidden by trigger.
GRANT DELETE ON annal.payloads TO annal_app;
