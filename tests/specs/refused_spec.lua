-- For tests/test_specs.c: a step the engine refuses that no expectation names
-- fails at that step's line.
return spec "A refused step fails the spec" {
  params = { weight = 70 },
  at "0m" { record = { consent = true } },
  at "1m" { advance = true },
  expect "1m" { phase = "screening" },
}
