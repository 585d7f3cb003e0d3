-- Two visits, two readings each: each visit alone never reaches a third.
return {
  spec "A first visit with two readings" {
    at "0m" { record = { vitals = { hr = 70 } } },
    at "5m" { record = { vitals = { hr = 72 } } },
  },
  spec "A second visit with two readings" {
    at "0m" { record = { vitals = { hr = 70 } } },
    at "5m" { record = { vitals = { hr = 72 } } },
  },
}
