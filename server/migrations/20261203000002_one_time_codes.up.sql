ALTER TABLE selfservice_flows ADD COLUMN internal_context ${long_text} NULL;

CREATE TABLE selfservice_one_time_codes (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    flow_id VARCHAR(36) NOT NULL REFERENCES selfservice_flows(id) ON DELETE CASCADE,
    purpose VARCHAR(16) NOT NULL,
    method VARCHAR(16) NOT NULL,
    digest VARCHAR(64) NOT NULL UNIQUE,
    address_via VARCHAR(16) NOT NULL,
    address VARCHAR(255) NOT NULL,
    identity_id VARCHAR(36) NULL REFERENCES identities(id) ON DELETE CASCADE,
    attempts BIGINT NOT NULL,
    used_at VARCHAR(32) NULL,
    expires_at VARCHAR(32) NOT NULL,
    created_at VARCHAR(32) NOT NULL
)${table_options};
CREATE INDEX selfservice_one_time_codes_flow ON selfservice_one_time_codes (flow_id);
CREATE INDEX selfservice_one_time_codes_expiry ON selfservice_one_time_codes (expires_at);
