-- A copy of each identity's addresses as JSON on its own row, so the session
-- lookup reads one row per table. The address tables stay the record.
ALTER TABLE identities ADD COLUMN addresses TEXT NOT NULL DEFAULT '{"verifiable":[],"recovery":[]}';
UPDATE identities SET addresses = json_object(
    'verifiable', json((SELECT json_group_array(json_array(a.id, a.via, a.value, a.status, a.verified,
        a.verified_at, a.created_at, a.updated_at))
        FROM identity_verifiable_addresses a WHERE a.identity_id = identities.id)),
    'recovery', json((SELECT json_group_array(json_array(a.id, a.via, a.value, a.created_at, a.updated_at))
        FROM identity_recovery_addresses a WHERE a.identity_id = identities.id)));
