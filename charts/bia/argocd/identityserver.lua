-- Argo CD health of a bia.dev/IdentityServer.
local hs = { status = "Progressing", message = "Waiting for the operator" }
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata.generation
if obj.status.observedGeneration ~= nil and generation ~= nil
    and obj.status.observedGeneration < generation then
  hs.message = "Waiting for the operator to observe the latest spec"
  return hs
end
local ready, degraded, stalled, reconciling
for _, c in ipairs(obj.status.conditions) do
  -- A condition computed from an older spec says nothing about this one.
  if c.observedGeneration ~= nil and generation ~= nil and c.observedGeneration < generation then
    hs.message = "Waiting for the operator to observe the latest spec"
    return hs
  end
  if c.type == "Ready" then ready = c end
  if c.type == "Degraded" then degraded = c end
  if c.type == "Stalled" then stalled = c end
  if c.type == "Reconciling" then reconciling = c end
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message or stalled.reason
elseif degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = degraded.message or degraded.reason
elseif reconciling ~= nil and reconciling.status == "True" then
  hs.message = (ready ~= nil and ready.message) or reconciling.message or reconciling.reason
elseif ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "Ready"
elseif ready ~= nil then
  hs.message = ready.message or ready.reason
end
return hs
