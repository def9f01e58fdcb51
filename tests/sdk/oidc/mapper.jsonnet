// Claims of the test providers to the SDK suite's identity schema.
local claims = std.extVar('claims');
{
  identity: {
    traits: {
      email: claims.email,
      [if 'given_name' in claims then 'name']: { given: claims.given_name },
    },
    verified_addresses: std.prune([
      if 'email' in claims && std.get(claims, 'email_verified', false) then { via: 'email', value: claims.email },
    ]),
    metadata_public: { groups: std.get(claims.raw_claims, 'groups', []) },
    metadata_admin: { subject: claims.sub },
  },
}
