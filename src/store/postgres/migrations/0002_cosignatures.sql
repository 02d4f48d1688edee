-- Witness cosignatures (C2SP tlog-cosignature) of the ledger's checkpoints, collected
-- after commit and served appended to the checkpoint note. One line per witness per
-- checkpoint; a line is kept as received (it verifies against the witness's key).

CREATE TABLE annal.cosignatures (
  tree_size   bigint      NOT NULL REFERENCES annal.checkpoints (tree_size),
  witness     text        NOT NULL,
  line        text        NOT NULL CHECK (line LIKE '— % %' AND right(line, 1) = E'\n'),
  cosigned_at bigint      NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tree_size, witness)
);

-- Evidence: never rewritten.
CREATE TRIGGER cosignatures_insert_only BEFORE UPDATE OR DELETE ON annal.cosignatures
  FOR EACH ROW EXECUTE FUNCTION annal.forbid_change();

GRANT SELECT, INSERT ON annal.cosignatures TO annal_app;
