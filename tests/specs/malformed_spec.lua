-- Deliberately wrong, for tests/test_specs.c: a misspelt expectation, and a
-- step the engine refuses that no expectation names.
return spec "Mistakes a spec author makes" {
  params = { weight = 70 },
  at "0m" { record = { consent = true } },
  expect "0m" { alrt = "bp_high" },
  at "1m" { advance = true },
}
