-- Shared by http_get.lua and http_post.lua (wrk 4, LuaJIT): cycles through
-- visits FIRST..FIRST+N-1 (args after "--": N FIRST TOKEN, TOKEN a signed-in
-- nurse's session), each thread from a
-- different offset, and prints one JSON line at the end.
local M = {}

local threads = {}
local next_id = 0

function M.setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function M.init(args)
  n = tonumber(args[1]) or 100
  first = tonumber(args[2]) or 1
  token = args[3] or ""
  i = (tid or 0) * 7919
end

function M.next_visit()
  local id = first + (i % n)
  i = i + 1
  return id
end

function M.done(summary, latency, requests, what, extra)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    '{"bench":"http","what":"%s","seconds":%.2f,"requests":%d,"requests_per_s":%.0f,'
      .. '"latency_ms_p50":%.3f,"latency_ms_p90":%.3f,"latency_ms_p99":%.3f,"latency_ms_max":%.3f,'
      .. '"latency_ms_mean":%.3f,"bytes_per_request":%.0f,'
      .. '"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_status":%d,"errors_timeout":%d%s}\n',
    what, secs, summary.requests, summary.requests / secs,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, latency.mean / 1e3,
    summary.requests > 0 and summary.bytes / summary.requests or 0,
    e.connect, e.read, e.write, e.status, e.timeout, extra or ""))
end

return M
