// Claims of the OAuth 2.0 provider kinds to the SDK suite's identity schema:
// the address only when the provider verified it (as Kratos's examples
// advise), and every claim the mapper sees kept as public metadata so the
// tests can compare them.
local claims = std.extVar('claims');
local verified = 'email' in claims && std.get(claims, 'email_verified', false) == true;
{
  identity: {
    traits: {
      [if verified then 'email']: claims.email,
      [if 'name' in claims then 'name']: { given: claims.name },
    },
    verified_addresses: std.prune([if verified then { via: 'email', value: claims.email }]),
    metadata_public: { claims: { [k]: claims[k] for k in std.objectFields(claims) if k != 'raw_claims' } },
    metadata_admin: { subject: claims.sub },
  },
}
