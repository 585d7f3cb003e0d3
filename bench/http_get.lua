-- wrk script: GET /api/v1/visits/{id}, cycling through the visits.
-- wrk -t2 -c50 -d10s -s bench/http_get.lua http://127.0.0.1:PORT -- N FIRST TOKEN
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local c = require "http_common"

setup = c.setup
init = c.init

function request()
  return wrk.format("GET", "/api/v1/visits/" .. c.next_visit(), { ["Authorization"] = "Bearer " .. token })
end

function done(summary, latency, requests)
  c.done(summary, latency, requests, "get_visit")
end
