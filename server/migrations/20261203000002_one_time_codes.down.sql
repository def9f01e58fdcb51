DROP TABLE selfservice_one_time_codes;
ALTER TABLE selfservice_flows DROP COLUMN internal_context;
