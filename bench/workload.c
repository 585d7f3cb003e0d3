/* workload.c: the deterministic generator of WORKLOAD.md, transcribed as is
 * (uint32 arithmetic throughout) so that its values match the peers' bit for bit. */
#include "workload.h"

uint32_t wl_mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

int64_t wl_start_ms(uint64_t i, uint64_t n) { return (int64_t)(i * WL_SPREAD_MS / n); }

wl_screening wl_screening_of(uint32_t sid) {
  uint32_t h = wl_mix32(sid * 4u);
  return (wl_screening){
      .consent = 1, .contraindication = 0, .iv_access = 1, .npo_hours = 6 + h % 6, .baseline_sbp = 100 + (h >> 8) % 70};
}

wl_vitals wl_vitals_of(uint32_t sid, uint32_t k) {
  uint32_t h = wl_mix32(sid * 4u + k);
  return (wl_vitals){.sbp = 100 + h % 70, .spo2 = 91 + (h >> 8) % 10, .hr = 50 + (h >> 16) % 70};
}

int wl_vitals_alert(wl_vitals x) { return x.sbp > 160 || x.spo2 < 92; }

int wl_expected(uint64_t n, wl_checksums *out) {
  static const struct {
    uint64_t n;
    wl_checksums c;
  } table[] = {
      {1000, {7650, 650, 1300, 787}},
      {10000, {76479, 6479, 12958, 7845}},
      {100000, {764819, 64819, 129638, -1}},
  };
  for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++)
    if (table[i].n == n) {
      *out = table[i].c;
      return 1;
    }
  return 0;
}
