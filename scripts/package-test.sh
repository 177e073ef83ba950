#!/usr/bin/env bash
# Builds the Debian package from the debug binary the tests built, installs it, starts it
# as systemd would, checks /healthz and the hardening it promises, then removes it again.
# Needs root (it installs a package and creates the service user). See docs/deploy.md.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

command -v cargo-deb >/dev/null || cargo install --locked cargo-deb --version 3.8.0
echo "==> cargo deb (dev profile: the binary the tests already built)"
cargo deb -p labguard --no-build --profile dev --fast --output "$TARGET/debian/" 2>&1 | grep -v "dev profile\|debug symbols\|^ *To enable" || true
deb=$(ls -t "$TARGET"/debian/labguard_*.deb | head -1)
# Listed once into a variable: `dpkg-deb | grep -q` would kill dpkg-deb with SIGPIPE.
contents=$(dpkg-deb --contents "$deb")
for want in './usr/bin/labguard' './etc/labguard/labguard.toml' 'labguard.service'; do
  grep -qF -- "$want" <<<"$contents" || { echo "package lacks $want"; exit 1; }
done

if command -v systemd-analyze >/dev/null; then
  echo "==> systemd-analyze verify"
  # Resolve paths against the package contents, not this machine's (labguard is not installed yet).
  systemd-analyze verify --man=no packaging/labguard.service 2>&1 | grep -v "Executable path\|/usr/bin/labguard" || true
fi

echo "==> install $deb"
$SUDO apt-get install -y -qq "./$deb" >/dev/null 2>&1 || $SUDO dpkg -i "$deb"
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  $SUDO dpkg --purge labguard >/dev/null 2>&1 || true
  $SUDO rm -rf /var/lib/labguard
}
trap cleanup EXIT
getent passwd labguard >/dev/null
[ "$(stat -c '%U %a' /var/lib/labguard)" = "labguard 700" ]
[ "$(stat -c '%U:%G %a' /etc/labguard/labguard.toml)" = "root:labguard 640" ]
unit=$(find /lib/systemd/system /usr/lib/systemd/system -name labguard.service 2>/dev/null | head -1)
for want in "User=labguard" "ProtectSystem=strict" "NoNewPrivileges=true" "PrivateTmp=true" \
            "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" "LimitNOFILE=65536"; do
  grep -qx "$want" "$unit" || { echo "unit lacks $want"; exit 1; }
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
mllp=$(free_port)
legacy=$(free_port)
log=$(mktemp)
if [ "$(cat /proc/1/comm 2>/dev/null)" = "systemd" ]; then
  echo "==> systemctl start labguard"
  $SUDO mkdir -p /etc/systemd/system/labguard.service.d
  printf '[Service]\nExecStart=\nExecStart=/usr/bin/labguard serve --listen 127.0.0.1:%s --mllp-tls-listen 127.0.0.1:%s --mllp-tcp-listen 127.0.0.1:%s\n' \
    "$port" "$mllp" "$legacy" | $SUDO tee /etc/systemd/system/labguard.service.d/test.conf >/dev/null
  $SUDO systemctl daemon-reload
  $SUDO systemctl start labguard
else
  echo "==> no systemd here: running the unit's commands as the labguard user"
  as_service=(runuser -u labguard -- env LABGUARD_CONFIG=/etc/labguard/labguard.toml)
  [ -z "$SUDO" ] || as_service=(sudo "${as_service[@]}")
  (cd / && "${as_service[@]}" /usr/bin/labguard init --admin none --if-absent) >"$log" 2>&1 \
    || { cat "$log"; exit 1; }
  (cd / && exec "${as_service[@]}" /usr/bin/labguard serve --listen "127.0.0.1:$port" \
     --mllp-tls-listen "127.0.0.1:$mllp" --mllp-tcp-listen "127.0.0.1:$legacy") >>"$log" 2>&1 &
  pid=$!
fi
for _ in $(seq 1 60); do
  if [ "$(curl -sk --max-time 2 "https://127.0.0.1:$port/healthz" || true)" = "ok" ]; then
    break
  fi
  sleep 1
done
got=$(curl -sk --max-time 5 "https://127.0.0.1:$port/healthz" || true)
[ "$got" = "ok" ] || { echo "/healthz said: $got"; cat "$log"; exit 1; }
# The data dir was made by the service user, private to it.
[ "$(stat -c '%U' /var/lib/labguard/kek.key)" = "labguard" ]
[ "$(stat -c '%a' /var/lib/labguard/kek.key)" = "600" ]
if [ "$(cat /proc/1/comm 2>/dev/null)" = "systemd" ]; then
  $SUDO systemctl stop labguard
  $SUDO rm -rf /etc/systemd/system/labguard.service.d
  $SUDO systemctl daemon-reload
fi
echo "==> package installed, started, answered /healthz, removed"
