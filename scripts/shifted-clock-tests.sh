#!/usr/bin/env bash
# The suite again under libfaketime, so that no test depends on the day or the hour it runs:
#   1. the clock 400 days ahead (coupons, tokens and certificates minted for "today" would expire);
#   2. Sunday 2027-01-03 23:30 in the stores' zone (Europe/Sofia, 21:30 UTC), with the process in
#      Pacific/Kiritimati (UTC+14, already Monday there): a late hour, another weekday, another zone.
# Every process the tests start (Mosquitto, Xvfb, the demos) inherits the shifted clock.
# The 10-minute signage soak runs once, in ./run-tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh

if ! command -v gcc >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null
  else
    echo "shifted-clock-tests: gcc is missing: sudo apt-get install -y gcc libc6-dev" >&2
    exit 1
  fi
fi
libfaketime="$(dpkg -L libfaketime | grep '/libfaketimeMT.so.1$')"
shim="$VENV/sem_clockwait.so"  # why it is needed: scripts/faketime/sem_clockwait.c
if [ ! -f "$shim" ] || [ scripts/faketime/sem_clockwait.c -nt "$shim" ]; then
  gcc -shared -fPIC -O2 -o "$shim" scripts/faketime/sem_clockwait.c -ldl
fi

run() {
  local label="$1" spec="$2"
  shift 2
  echo "shifted clock: $label"
  env "$@" LD_PRELOAD="$shim:$libfaketime" FAKETIME="$spec" \
    python -m pytest -q -p no:cacheprovider --ignore=tests/ui/test_signage_soak.py "${EXTRA[@]}"
}
EXTRA=("$@")
sunday=$(( $(date -u -d '2027-01-03 21:30:00' +%s) - $(date -u +%s) ))
[ "$sunday" -ge 0 ] && sunday="+$sunday"
run "400 days ahead, $(date -u -d '+400 days' '+%a %F %H:%M UTC')" "+400d"
run "Sunday 2027-01-03 23:30 in Sofia, the process in Pacific/Kiritimati" "${sunday}s" TZ=Pacific/Kiritimati
