-- For tests/test_specs.c: a syntax error is reported at its own line.
return spec "A step without its closing brace" {
  at "0m" { record = { consent = true }
  expect "1m" { phase = "screening" },
}
