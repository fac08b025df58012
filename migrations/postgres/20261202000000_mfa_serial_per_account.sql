-- An MFA device's serial number is unique within its account, no longer across all of them. A
-- hardware token's serial is what its owner types; AWS keeps it unique across AWS because it knows
-- each token's seed from the vendor, but here the seed is the caller's, so a global key let anyone
-- who may enable their own device learn that a serial was taken in another account, or take it
-- first. (Virtual devices and security keys are named by ARNs, which hold the account already.)
ALTER TABLE mfa_devices DROP CONSTRAINT mfa_devices_pkey;
ALTER TABLE mfa_devices ADD PRIMARY KEY (account_id, serial_number);
