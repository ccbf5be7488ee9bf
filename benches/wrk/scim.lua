-- wrk script: one of three SCIM requests on a user drawn at random for every request.
--
--   wrk -tN -c16 -d15s -s scim.lua http://127.0.0.1:PORT -- MODE USERS_FILE TOKEN BASE_PATH N
--
-- MODE: `filter` (GET BASE/Users?filter=userName eq "..."), `get` (GET BASE/Users/{id}) or
-- `patch` (PATCH BASE/Users/{id} replacing `active`: the deactivation identity providers
-- send). USERS_FILE: one `id<TAB>userName` line per user (populate.py writes it); N: wrk's
-- thread count. Each wrk thread draws from its own seeded generator, so the requests spread
-- over all the users and no single cached key flatters a server.
--
-- `patch` must start with every user active. Thread k of N owns the users k, k + N, ...
-- and flips each one it draws: the first PATCH of a user sets `active` false, the next true,
-- and so on, so every request really changes the resource (a server may answer a PATCH
-- that changes nothing without writing). done() prints one RESULT line.
--
-- init() formats every request a thread can send once (each user's GET, or each owned
-- user's two PATCHes), so request() only draws one: on a 2-core machine wrk's own CPU per
-- request is taken from the server under test, and building each request in Lua doubled it.

local mode, token, base
local ids, names = {}, {}
local owned = {} -- patch: the indexes of the users this thread owns
local active = {} -- patch: what this thread last set, by index (absent: true)
local headers = {}
local prepared = {} -- filter, get: the request of each user, by index
local deactivate, reactivate = {}, {} -- patch: each owned user's two requests, by index
local function patch_body(value)
  return '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],'
    .. '"Operations":[{"op":"replace","path":"active","value":' .. tostring(value) .. '}]}'
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("seed", #threads * 7919)
  thread:set("thread_index", #threads)
end

local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

function init(args)
  mode, token, base = args[1], args[3], args[4] or ""
  scim_mode = mode -- a global, for done()
  for line in io.lines(args[2]) do
    local id, name = line:match("^([^\t]+)\t(.+)$")
    if id then
      ids[#ids + 1] = id
      names[#names + 1] = name
    end
  end
  if #ids == 0 then
    error("no users in " .. tostring(args[2]))
  end
  math.randomseed(seed or 1)
  headers["Authorization"] = "Bearer " .. token
  headers["Accept"] = "application/scim+json"
  if mode == "patch" then
    headers["Content-Type"] = "application/scim+json"
    local n = tonumber(args[5] or "1")
    for i = thread_index or 1, #ids, n do
      owned[#owned + 1] = i
    end
    for _, i in ipairs(owned) do
      local path = base .. "/Users/" .. ids[i]
      deactivate[i] = wrk.format("PATCH", path, headers, patch_body(false))
      reactivate[i] = wrk.format("PATCH", path, headers, patch_body(true))
    end
  elseif mode == "filter" then
    for i = 1, #ids do
      local f = 'userName eq "' .. names[i] .. '"'
      prepared[i] = wrk.format("GET", base .. "/Users?filter=" .. encode(f), headers)
    end
  elseif mode == "get" then
    for i = 1, #ids do
      prepared[i] = wrk.format("GET", base .. "/Users/" .. ids[i], headers)
    end
  else
    error("MODE must be filter, get or patch")
  end
end

function request()
  if mode == "patch" then
    local i = owned[math.random(#owned)]
    local value = active[i] == false
    active[i] = value
    if value then
      return reactivate[i]
    end
    return deactivate[i]
  end
  return prepared[math.random(#ids)]
end

function done(summary, latency, requests)
  -- done() runs in wrk's main interpreter, where init() never ran: ask a thread.
  mode = threads[1]:get("scim_mode")
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT mode=%s requests=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d socket_errors=%d\n",
    mode, summary.requests, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
