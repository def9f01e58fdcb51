-- Argo CD health of a bia.dev Identity (a declared identity kept in a server).
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
local byType = {}
for _, c in ipairs(obj.status.conditions) do
  byType[c.type] = c
end
local ready, stalled, reconciling = byType["Ready"], byType["Stalled"], byType["Reconciling"]
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message or stalled.reason
elseif ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "In sync"
elseif reconciling ~= nil and reconciling.status == "True" then
  hs.message = reconciling.message or reconciling.reason
elseif ready ~= nil and ready.reason == "ExistingIgnored" then
  hs.status = "Suspended"
  hs.message = ready.message
end
return hs
