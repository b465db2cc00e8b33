-- The bearer key from OTP_BENCH_KEY (set by the bench harness), as a relying app sends it.
headers = { ["Content-Type"] = "application/json" }
local key = os.getenv("OTP_BENCH_KEY")
if key ~= nil and key ~= "" then
  headers["Authorization"] = "Bearer " .. key
end

-- wrk: POST /v1/otp/send, each request to a new destination (no cooldown or hourly limit trips).
-- Each wrk thread gets its own tag in setup(), so threads never repeat a destination.
local threads = 0

setup = function(thread)
  threads = threads + 1
  thread:set("tag", string.format("%d-%d", os.time(), threads))
end

local counter = 0


request = function()
  counter = counter + 1
  local body = string.format(
    '{"channel":"email","destination":"load-%s-%d@example.com"}', tag, counter)
  return wrk.format("POST", "/v1/otp/send", headers, body)
end
