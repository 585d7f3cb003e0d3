-- Deliberately wrong, for tests/test_specs.c: a misspelt expectation, and a
-- state checked over a window.
return spec "Mistakes a spec author makes" {
  params = { weight = 70 },
  at "0m" { record = { consent = true } },
  expect "0m" { alrt = "bp_high" },
  expect "1m..2m" { phase = "screening" },
  at "1m" { advance = true },
}
