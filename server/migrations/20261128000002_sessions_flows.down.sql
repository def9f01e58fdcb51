DROP TABLE selfservice_errors;
DROP TABLE selfservice_flows;
DROP TABLE sessions;
