CREATE TABLE session_token_exchanges (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    flow_id VARCHAR(36) NOT NULL UNIQUE,
    init_code_digest VARCHAR(64) NOT NULL UNIQUE,
    return_to_code_digest VARCHAR(64) NULL,
    session_id VARCHAR(36) NULL REFERENCES sessions(id) ON DELETE CASCADE,
    expires_at VARCHAR(32) NOT NULL,
    created_at VARCHAR(32) NOT NULL
)${table_options};
CREATE INDEX session_token_exchanges_expiry ON session_token_exchanges (expires_at);
