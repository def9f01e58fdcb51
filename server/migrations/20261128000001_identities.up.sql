CREATE TABLE identities (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    schema_id VARCHAR(255) NOT NULL,
    traits ${long_text} NOT NULL,
    state VARCHAR(16) NOT NULL,
    state_changed_at VARCHAR(32),
    metadata_public ${long_text},
    metadata_admin ${long_text},
    external_id VARCHAR(255) UNIQUE,
    organization_id VARCHAR(36),
    available_aal VARCHAR(8),
    created_at VARCHAR(32) NOT NULL,
    updated_at VARCHAR(32) NOT NULL
)${table_options};

CREATE TABLE identity_credentials (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    identity_id VARCHAR(36) NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    type VARCHAR(32) NOT NULL,
    config ${long_text} NOT NULL,
    version BIGINT NOT NULL,
    created_at VARCHAR(32) NOT NULL,
    updated_at VARCHAR(32) NOT NULL,
    UNIQUE (identity_id, type)
)${table_options};

CREATE TABLE identity_credential_identifiers (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    identity_id VARCHAR(36) NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    credential_id VARCHAR(36) NOT NULL REFERENCES identity_credentials(id) ON DELETE CASCADE,
    type VARCHAR(32) NOT NULL,
    identifier VARCHAR(255) NOT NULL,
    created_at VARCHAR(32) NOT NULL,
    updated_at VARCHAR(32) NOT NULL,
    UNIQUE (type, identifier)
)${table_options};
CREATE INDEX identity_credential_identifiers_identity ON identity_credential_identifiers (identity_id);
CREATE INDEX identity_credential_identifiers_identifier ON identity_credential_identifiers (identifier);

CREATE TABLE identity_verifiable_addresses (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    identity_id VARCHAR(36) NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    via VARCHAR(16) NOT NULL,
    value VARCHAR(255) NOT NULL,
    verified BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    verified_at VARCHAR(32),
    created_at VARCHAR(32) NOT NULL,
    updated_at VARCHAR(32) NOT NULL,
    UNIQUE (via, value)
)${table_options};
CREATE INDEX identity_verifiable_addresses_identity ON identity_verifiable_addresses (identity_id);

CREATE TABLE identity_recovery_addresses (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    identity_id VARCHAR(36) NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    via VARCHAR(16) NOT NULL,
    value VARCHAR(255) NOT NULL,
    created_at VARCHAR(32) NOT NULL,
    updated_at VARCHAR(32) NOT NULL,
    UNIQUE (via, value)
)${table_options};
CREATE INDEX identity_recovery_addresses_identity ON identity_recovery_addresses (identity_id);
