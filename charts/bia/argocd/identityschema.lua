-- Argo CD health of a bia.dev attached resource (IdentitySchema, OIDCProvider, CourierTemplate);
-- a schema also reports the migration of the identities of the schema it supersedes.
local hs = { status = "Progressing", message = "Waiting for the operator" }
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if obj.status.observedGeneration ~= nil and generation ~= nil
    and obj.status.observedGeneration < generation then
  hs.message = "Waiting for the operator to observe the latest spec"
  return hs
end
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Accepted" then
    if c.reason == "DeletionBlocked" then
      hs.status = "Suspended"
      hs.message = c.message
    elseif c.status == "True" then
      hs.status = "Healthy"
      hs.message = c.message or "Accepted"
    elseif c.reason == "ServerNotFound" or c.reason == "SecretMissing" then
      hs.status = "Progressing"
      hs.message = c.message
    else
      hs.status = "Degraded"
      hs.message = c.message or c.reason
    end
  end
end
local m = obj.status.migration
if hs.status == "Healthy" and m ~= nil then
  if m.phase == "DryRun" or m.phase == "Migrating" then
    hs.status = "Progressing"
    hs.message = m.message or m.phase
  elseif m.phase == "Failed" then
    hs.status = "Degraded"
    hs.message = m.message or m.phase
  end
end
return hs
