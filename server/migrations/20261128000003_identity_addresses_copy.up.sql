-- A copy of each identity's addresses as JSON on its own row, so the session
-- lookup reads one row per table. The address tables stay the record.
--@ sqlite postgres
ALTER TABLE identities ADD COLUMN addresses TEXT NOT NULL DEFAULT '{"verifiable":[],"recovery":[]}';
--@ sqlite
UPDATE identities SET addresses = json_object(
    'verifiable', json((SELECT json_group_array(json_array(a.id, a.via, a.value, a.status, a.verified,
        a.verified_at, a.created_at, a.updated_at))
        FROM identity_verifiable_addresses a WHERE a.identity_id = identities.id)),
    'recovery', json((SELECT json_group_array(json_array(a.id, a.via, a.value, a.created_at, a.updated_at))
        FROM identity_recovery_addresses a WHERE a.identity_id = identities.id)));
--@ postgres
UPDATE identities i SET addresses = json_build_object(
    'verifiable', COALESCE((SELECT json_agg(json_build_array(a.id, a.via, a.value, a.status, a.verified,
        a.verified_at, a.created_at, a.updated_at))
        FROM identity_verifiable_addresses a WHERE a.identity_id = i.id), '[]'::json),
    'recovery', COALESCE((SELECT json_agg(json_build_array(a.id, a.via, a.value, a.created_at, a.updated_at))
        FROM identity_recovery_addresses a WHERE a.identity_id = i.id), '[]'::json))::text;
--@ mysql
ALTER TABLE identities ADD COLUMN addresses TEXT NULL;
UPDATE identities i SET addresses = CONCAT(
    '{"verifiable":',
    COALESCE((SELECT JSON_ARRAYAGG(JSON_ARRAY(a.id, a.via, a.value, a.status, a.verified,
        a.verified_at, a.created_at, a.updated_at))
        FROM identity_verifiable_addresses a WHERE a.identity_id = i.id), '[]'),
    ',"recovery":',
    COALESCE((SELECT JSON_ARRAYAGG(JSON_ARRAY(a.id, a.via, a.value, a.created_at, a.updated_at))
        FROM identity_recovery_addresses a WHERE a.identity_id = i.id), '[]'),
    '}');
ALTER TABLE identities MODIFY addresses TEXT NOT NULL;
