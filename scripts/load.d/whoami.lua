-- GET /sessions/whoami with X-Session-Token, rotating over many seeded tokens.
-- Usage: wrk ... -s whoami.lua URL -- TOKENS_FILE   (one token per line)
-- Each wrk thread starts at its own offset, so threads ask for different sessions.

local tokens = {}
local index = 0
thread_number = 0 -- set per thread by setup()
local threads_started = 0

function setup(thread)
  thread:set("thread_number", threads_started)
  threads_started = threads_started + 1
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      tokens[#tokens + 1] = line
    end
  end
  assert(#tokens > 0, "no tokens in " .. args[1])
  index = (thread_number * 7919) % #tokens
end

function request()
  index = index % #tokens + 1
  return wrk.format("GET", "/sessions/whoami", { ["X-Session-Token"] = tokens[index] })
end
