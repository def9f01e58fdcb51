CREATE TABLE courier_messages (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    type VARCHAR(16) NOT NULL,
    channel VARCHAR(32) NOT NULL,
    status VARCHAR(16) NOT NULL,
    recipient VARCHAR(255) NOT NULL,
    subject ${long_text} NOT NULL,
    body ${long_text} NOT NULL,
    html_body ${long_text} NULL,
    template_type VARCHAR(64) NOT NULL,
    template_data ${long_text} NOT NULL,
    send_count BIGINT NOT NULL,
    lease_until VARCHAR(32) NOT NULL,
    lease_owner VARCHAR(36) NULL,
    created_at VARCHAR(32) NOT NULL,
    updated_at VARCHAR(32) NOT NULL
)${table_options};
CREATE INDEX courier_messages_pull ON courier_messages (status, lease_until);
CREATE INDEX courier_messages_recipient ON courier_messages (recipient, id);
CREATE INDEX courier_messages_status ON courier_messages (status, id);

CREATE TABLE courier_message_dispatches (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    message_id VARCHAR(36) NOT NULL REFERENCES courier_messages(id) ON DELETE CASCADE,
    status VARCHAR(16) NOT NULL,
    error ${long_text} NULL,
    created_at VARCHAR(32) NOT NULL,
    updated_at VARCHAR(32) NOT NULL
)${table_options};
CREATE INDEX courier_message_dispatches_message ON courier_message_dispatches (message_id, created_at);
