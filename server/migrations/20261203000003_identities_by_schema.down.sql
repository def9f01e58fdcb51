--@ sqlite postgres
DROP INDEX identities_schema;
--@ mysql
DROP INDEX identities_schema ON identities;
