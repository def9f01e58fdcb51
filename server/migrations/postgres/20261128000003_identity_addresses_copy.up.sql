-- A copy of each identity's addresses as JSON on its own row, so the session
-- lookup reads one row per table. The address tables stay the record.
ALTER TABLE identities ADD COLUMN addresses TEXT NOT NULL DEFAULT '{"verifiable":[],"recovery":[]}';
UPDATE identities i SET addresses = json_build_object(
    'verifiable', COALESCE((SELECT json_agg(json_build_array(a.id, a.via, a.value, a.status, a.verified,
        a.verified_at, a.created_at, a.updated_at))
        FROM identity_verifiable_addresses a WHERE a.identity_id = i.id), '[]'::json),
    'recovery', COALESCE((SELECT json_agg(json_build_array(a.id, a.via, a.value, a.created_at, a.updated_at))
        FROM identity_recovery_addresses a WHERE a.identity_id = i.id), '[]'::json))::text;
