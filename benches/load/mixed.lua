-- wrk script: a bounded mix of SCIM reads and writes against the example server.
--
-- Each wrk thread drives one connection (run with -t N -c N) and keeps its own state:
--   45% GET /Users/{id}            (a fixed set of 200 users made by run.sh)
--   15% GET /Users?filter=...      (an indexed userName lookup)
--   10% GET /Users?count=20&startIndex=...  (a page)
--   15% PATCH /Users/{id}          (replace displayName and title)
--    5% PATCH /Groups/{id}         (add, then remove, one member)
--   10% POST /Users, and the next request DELETEs what it created
-- so the data set stays the same size however long it runs (bounded).
-- Environment: SCIM_TOKEN, SCIM_IDS (file of user ids, one a line), SCIM_GROUP.

local token = os.getenv("SCIM_TOKEN")
local group = os.getenv("SCIM_GROUP")
local base = "/scim/v2"
local ids = {}
for line in io.lines(os.getenv("SCIM_IDS")) do
  ids[#ids + 1] = line
end

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local headers = {
  ["Authorization"] = "Bearer " .. token,
  ["Content-Type"] = "application/scim+json",
}
local n = 0
local pending_delete = nil
local last = nil
local member_in = {}
errors = 0
created = 0

function init(args)
  math.randomseed(tid * 7919)
end

local patch_user = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],'
  .. '"Operations":[{"op":"replace","value":{"displayName":"Load %d","title":"T%d"}}]}'

function request()
  n = n + 1
  if pending_delete then
    local id = pending_delete
    pending_delete = nil
    last = "delete"
    return wrk.format("DELETE", base .. "/Users/" .. id, headers)
  end
  local r = math.random(100)
  local id = ids[math.random(#ids)]
  if r <= 45 then
    last = "get"
    return wrk.format("GET", base .. "/Users/" .. id, headers)
  elseif r <= 60 then
    last = "filter"
    local k = math.random(#ids) - 1
    return wrk.format("GET", base .. "/Users?filter=userName%20eq%20%22load" .. k
      .. "%40example.com%22", headers)
  elseif r <= 70 then
    last = "page"
    return wrk.format("GET", base .. "/Users?count=20&startIndex=" .. math.random(180), headers)
  elseif r <= 85 then
    last = "patch"
    return wrk.format("PATCH", base .. "/Users/" .. id, headers, string.format(patch_user, n, tid))
  elseif r <= 90 then
    last = "member"
    -- Each thread changes only its own users' membership, so a remove always has a target.
    id = ids[(math.random(12) - 1) * 16 + tid]
    local op = member_in[id] and "remove" or "add"
    member_in[id] = not member_in[id]
    local body
    if op == "add" then
      body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],'
        .. '"Operations":[{"op":"add","path":"members","value":[{"value":"' .. id .. '"}]}]}'
    else
      body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],'
        .. '"Operations":[{"op":"remove","path":"members[value eq \\"' .. id .. '\\"]"}]}'
    end
    return wrk.format("PATCH", base .. "/Groups/" .. group, headers, body)
  else
    last = "create"
    local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"tmp-'
      .. tid .. "-" .. n .. '@example.com","emails":[{"value":"tmp' .. n
      .. '@example.com","type":"work","primary":true}]}'
    return wrk.format("POST", base .. "/Users", headers, body)
  end
end

function response(status, hdrs, body)
  if status >= 400 then
    errors = errors + 1
  end
  if last == "create" and status == 201 then
    created = created + 1
    pending_delete = body:match('"id":"([^"]+)"')
  end
end

function done(summary, latency, requests)
  local e, c = 0, 0
  for _, t in ipairs(threads) do
    e = e + t:get("errors")
    c = c + t:get("created")
  end
  io.write(string.format("scim: error responses (status >= 400): %d; users created and deleted: %d\n", e, c))
  io.write(string.format("scim: latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
