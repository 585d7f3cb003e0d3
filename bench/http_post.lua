-- wrk script: POST /api/v1/visits/{id}/entries recording in-range vitals (no
-- alert), cycling through the visits. Each answer comes once its write is
-- durable (one group commit per turn of the server's loop).
-- wrk -t2 -c50 -d10s -s bench/http_post.lua http://127.0.0.1:PORT -- N FIRST TOKEN
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local c = require "http_common"

setup = c.setup
init = c.init

local body = '{"vitals":{"sbp":124,"spo2":98,"hr":72}}'

function request()
  local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  return wrk.format("POST", "/api/v1/visits/" .. c.next_visit() .. "/entries", headers, body)
end

function done(summary, latency, requests)
  c.done(summary, latency, requests, "post_entries")
end
