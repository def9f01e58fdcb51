-- Complete native logins: GET /self-service/login/api (a new api flow), then
-- POST /self-service/login?flow=<id> with {"method":"password","identifier":..,"password":..}.
-- Usage: wrk -t N -c N ... -s login.lua URL -- USERS_FILE PASSWORD
-- Run with as many threads as connections (-t = -c): each thread then has one connection and
-- one Lua state, so the two steps of a login alternate on that connection.
-- Prints "LOGINS <ok> FAILURES <failed> FLOWS <flows created>" when done.

local users = {}
local password
local flow = nil
local index = 0
thread_number = 0
logins = 0
failures = 0
flows = 0

local threads = {}

function setup(thread)
  thread:set("thread_number", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      users[#users + 1] = line
    end
  end
  password = args[2]
  assert(#users > 0 and password, "usage: -- USERS_FILE PASSWORD")
  index = (thread_number * 37) % #users
end

function request()
  if flow == nil then
    return wrk.format("GET", "/self-service/login/api", { ["Accept"] = "application/json" })
  end
  index = index % #users + 1
  local body = '{"method":"password","identifier":"' .. users[index] ..
      '","password":"' .. password .. '"}'
  return wrk.format("POST", "/self-service/login?flow=" .. flow,
    { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }, body)
end

function response(status, headers, body)
  if flow == nil then
    -- The flow's id is in its form action: ".../self-service/login?flow=<id>".
    flow = status == 200 and string.match(body, "login%?flow=([0-9a-f%-]+)") or nil
    if flow then flows = flows + 1 else failures = failures + 1 end
  else
    if status == 200 and string.find(body, '"session_token"', 1, true) then
      logins = logins + 1
    else
      failures = failures + 1
    end
    flow = nil
  end
end

function done(summary, latency, requests)
  local ok, failed, created = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("logins")
    failed = failed + thread:get("failures")
    created = created + thread:get("flows")
  end
  io.write(string.format("LOGINS %d FAILURES %d FLOWS %d\n", ok, failed, created))
end
