#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with Rust: installs what the tests need
# (Debian and PyPI packages, PostgreSQL if absent), makes sure PostgreSQL is running, then
# runs fmt, clippy and every test against SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

need_apt=()
command -v age >/dev/null || need_apt+=(age)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v python3 >/dev/null || need_apt+=(python3 python3-pip)
command -v pg_isready >/dev/null || need_apt+=(postgresql postgresql-client)
# The PostgreSQL-over-TLS test starts its own throw-away cluster with initdb.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_apt+=(postgresql)
# Browser tests drive headless Chromium over WebDriver; wrk measures the HTTPS API.
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v hey >/dev/null || need_apt+=(hey)
command -v curl >/dev/null || need_apt+=(curl)
# The single sign-on test runs a real OpenID Connect provider (npm oidc-provider) on Node.
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
# The compliance report test rasterises a PDF page.
command -v pdftoppm >/dev/null || need_apt+=(poppler-utils)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "==> Python packages the tests drive (third-party clients)"
python3 -m pip install --quiet --disable-pip-version-check pyotp hl7 schemathesis fhir.resources compliance-trestle astm-2025 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages pyotp hl7 schemathesis fhir.resources compliance-trestle astm-2025

# Outside git; skipped when already installed, so a re-run needs no network.
OIDC_DIR="${LABGUARD_OIDC_PROVIDER_DIR:-/var/tmp/labguard-oidc-provider}"
if [ ! -f "$OIDC_DIR/node_modules/oidc-provider/package.json" ]; then
  echo "==> npm oidc-provider into $OIDC_DIR"
  mkdir -p "$OIDC_DIR"
  npm install --silent --no-audit --no-fund --prefix "$OIDC_DIR" oidc-provider@9.13.3
fi
export LABGUARD_OIDC_PROVIDER_DIR="$OIDC_DIR"

PGURL="${LABGUARD_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "==> starting PostgreSQL"
  ver=$(ls /etc/postgresql | sort -n | tail -1)
  hba="/etc/postgresql/$ver/main/pg_hba.conf"
  # Test machines only: trust local TCP connections, as the CI services do.
  if ! $SUDO grep -q "labguard-test" "$hba"; then
    $SUDO sed -i '1i host all all 127.0.0.1/32 trust # labguard-test' "$hba"
  fi
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start || $SUDO pg_ctlcluster "$ver" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
psql "${PGURL%/*}/postgres" -qtAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
  || psql "${PGURL%/*}/postgres" -qc "CREATE DATABASE test"
export LABGUARD_TEST_PG="$PGURL"

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cargo test (SQLite and PostgreSQL)"
cargo test --workspace --locked
echo "==> schemathesis against /api/openapi.json (SQLite, then PostgreSQL)"
cargo build --locked -p labguard
LABGUARD_BIN="${CARGO_TARGET_DIR:-target}/debug/labguard" bash scripts/schemathesis.sh
LABGUARD_BIN="${CARGO_TARGET_DIR:-target}/debug/labguard" LABGUARD_DATABASE_URL="$PGURL" \
  LABGUARD_PG_SCHEMA="st_$$" PORT=18444 bash scripts/schemathesis.sh
echo "==> Debian package: build, install, start as the service user, /healthz, remove"
bash scripts/package-test.sh
echo "==> all tests passed"
