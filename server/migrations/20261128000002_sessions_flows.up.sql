CREATE TABLE sessions (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    identity_id VARCHAR(36) NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    token_hash VARCHAR(64) NOT NULL UNIQUE,
    active BIGINT NOT NULL,
    aal VARCHAR(8) NOT NULL,
    authentication_methods ${long_text} NOT NULL,
    devices ${long_text} NOT NULL,
    issued_at VARCHAR(32) NOT NULL,
    authenticated_at VARCHAR(32) NOT NULL,
    expires_at VARCHAR(32) NOT NULL,
    created_at VARCHAR(32) NOT NULL,
    updated_at VARCHAR(32) NOT NULL
)${table_options};
CREATE INDEX sessions_identity ON sessions (identity_id, id);

CREATE TABLE selfservice_flows (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    kind VARCHAR(32) NOT NULL,
    flow_type VARCHAR(16) NOT NULL,
    state VARCHAR(32) NOT NULL,
    request_url ${long_text} NOT NULL,
    return_to ${long_text} NULL,
    refresh BIGINT NOT NULL,
    csrf_token VARCHAR(128) NOT NULL,
    identity_id VARCHAR(36) NULL,
    ui ${long_text} NOT NULL,
    issued_at VARCHAR(32) NOT NULL,
    expires_at VARCHAR(32) NOT NULL,
    created_at VARCHAR(32) NOT NULL,
    updated_at VARCHAR(32) NOT NULL
)${table_options};
CREATE INDEX selfservice_flows_expires ON selfservice_flows (expires_at);

CREATE TABLE selfservice_errors (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    error ${long_text} NOT NULL,
    created_at VARCHAR(32) NOT NULL,
    updated_at VARCHAR(32) NOT NULL
)${table_options};
