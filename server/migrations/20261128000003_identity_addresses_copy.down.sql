ALTER TABLE identities DROP COLUMN addresses;
