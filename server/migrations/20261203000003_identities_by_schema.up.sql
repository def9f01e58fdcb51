-- Schema migrations page through the identities of one schema in id order
-- and count those left.
CREATE INDEX identities_schema ON identities (schema_id, id);
