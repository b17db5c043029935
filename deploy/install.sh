#!/usr/bin/env bash
# Payambar on one Debian or Ubuntu box, with systemd, HTTPS by Caddy and (optionally) coturn.
#
#   sudo deploy/install.sh --install --domain chat.example.org --email you@example.org [--turn]
#   sudo deploy/install.sh --update              # new code; settings and data kept
#   sudo deploy/install.sh --uninstall [--purge] # the data and settings stay unless --purge
#
# Running it twice changes nothing. --prefix DIR (or PAYAMBAR_PREFIX) writes everything under
# DIR instead of / and runs no apt-get, useradd or systemctl: a dry run CI checks.
set -euo pipefail

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options:
  --domain NAME        the name HTTPS is served on (its DNS A/AAAA records point at this box)
  --email ADDRESS      the contact for the certificate authority and Web Push (VAPID_SUBJECT)
  --turn               run coturn for calls: turn: on 3478 (UDP and TCP), turns: on 5349
  --turns-443 NAME=IP  also turns: on port 443 of a second address IP of this box, named NAME
                       (Caddy then binds the web address given by --web-ip only)
  --web-ip IP          the address Caddy binds (needed with --turns-443)
  --prefix DIR         write into DIR instead of /, touch nothing of the system (dry run)
  --purge              with --uninstall: remove the data, the settings and the user too
EOF
}

ACTION="" PURGE=0 TURN="${PAYAMBAR_TURN:-0}" TURNS_443="" WEB_IP=""
PREFIX="${PAYAMBAR_PREFIX:-}" DOMAIN="${PAYAMBAR_DOMAIN:-}" EMAIL="${PAYAMBAR_EMAIL:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --install | --update | --uninstall) ACTION="${1#--}" ;;
    --purge) PURGE=1 ;;
    --turn) TURN=1 ;;
    --turns-443) TURN=1 TURNS_443="$2"; shift ;;
    --web-ip) WEB_IP="$2"; shift ;;
    --domain) DOMAIN="$2"; shift ;;
    --email) EMAIL="$2"; shift ;;
    --prefix) PREFIX="$2"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$ACTION" ] || { usage >&2; exit 2; }

SOURCE="$(cd "$(dirname "$0")/.." && pwd)"
ROOT="${PREFIX%/}"
APP_HOME=/opt/payambar
DATA=/var/lib/payambar
ENV_FILE=/etc/payambar/payambar.env
UNIT=/etc/systemd/system/payambar.service
CADDYFILE=/etc/caddy/Caddyfile
TURN_CONF=/etc/turnserver.conf
TURN_CERT_UNIT=/etc/systemd/system/payambar-turn-certificate
CADDY_CERTIFICATES=/var/lib/caddy/.local/share/caddy/certificates
PORT=8000
SERVICE_USER=payambar

say() { echo "payambar: $*"; }
die() { echo "payambar: $*" >&2; exit 1; }
in_root() { echo "$ROOT$1"; }
dry_run() { [ -n "$ROOT" ]; }
system() { if dry_run; then say "(dry run) would run: $*"; else "$@"; fi; }

# Writes stdin to a file only when its content differs, so a second run touches nothing.
CHANGED=()
write_file() {
  local target mode new
  target="$(in_root "$1")" mode="$2"
  new="$(mktemp)"
  cat >"$new"
  mkdir -p "$(dirname "$target")"
  if [ -f "$target" ] && cmp -s "$new" "$target"; then
    rm -f "$new"
  else
    install -m "$mode" "$new" "$target"
    rm -f "$new"
    CHANGED+=("$1")
  fi
  chmod "$mode" "$target"
}

setting() { # the value of NAME in the kept settings file ('' when absent)
  local file
  file="$(in_root "$ENV_FILE")"
  [ -f "$file" ] && sed -n "s/^$1=//p" "$file" | tail -1 || true
}

need_root() {
  dry_run || [ "$(id -u)" = 0 ] || die "run it as root (sudo), or with --prefix DIR for a dry run"
}

install_packages() {
  local packages=(python3 python3-venv ca-certificates caddy sqlite3)
  [ "$TURN" = 1 ] && packages+=(coturn)
  if dry_run; then say "(dry run) would apt-get install ${packages[*]}"; return; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
}

make_user() {
  if dry_run || id -u "$SERVICE_USER" >/dev/null 2>&1; then return; fi
  useradd --system --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
}

owned_by_service() { # chown where the user exists (never in a dry run)
  dry_run || chown "$@"
}

copy_code() {
  # A fresh copy beside the old one, swapped in whole: a failed copy leaves the old code running.
  local app next
  app="$(in_root "$APP_HOME/app")" next="$(in_root "$APP_HOME/app.next")"
  rm -rf "$next"
  mkdir -p "$next"
  tar -C "$SOURCE" --exclude=./.git --exclude=./.venv --exclude=./data --exclude=__pycache__ \
    --exclude=.pytest_cache --exclude=.ruff_cache -cf - . | tar -C "$next" -xf -
  if [ -d "$app" ] && diff -qr "$app" "$next" >/dev/null 2>&1; then
    rm -rf "$next"
    return
  fi
  rm -rf "$app.old"
  [ -d "$app" ] && mv "$app" "$app.old"
  mv "$next" "$app"
  rm -rf "$app.old"
  CHANGED+=("$APP_HOME/app")
}

make_venv() {
  # pip runs only when requirements.txt changed since the last run.
  local venv stamp wanted
  venv="$(in_root "$APP_HOME/venv")"
  stamp="$venv/.payambar-requirements"
  wanted="$(sha256sum "$(in_root "$APP_HOME/app")/requirements.txt" | cut -d' ' -f1)"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    say "installing the Python packages (a minute or two)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$(in_root "$APP_HOME/app")/requirements.txt"
    echo "$wanted" >"$stamp"
    CHANGED+=("$APP_HOME/venv")
  fi
}

make_data_folder() {
  mkdir -p "$(in_root "$DATA")" "$(in_root /etc/payambar)"
  chmod 0750 "$(in_root "$DATA")"
  chmod 0750 "$(in_root /etc/payambar)"
  owned_by_service "$SERVICE_USER:$SERVICE_USER" "$(in_root "$DATA")"
}

random_secret() { "$(in_root "$APP_HOME/venv")/bin/python" -c 'import secrets; print(secrets.token_urlsafe(48))'; }

vapid_key() { # a P-256 private key, raw base64url, as VAPID_PRIVATE_KEY takes it
  "$(in_root "$APP_HOME/venv")/bin/python" - <<'EOF'
import base64
from cryptography.hazmat.primitives.asymmetric import ec
number = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
print(base64.urlsafe_b64encode(number.to_bytes(32, "big")).rstrip(b"=").decode())
EOF
}

turn_lines() {
  local urls="turn:$DOMAIN:3478?transport=udp,turn:$DOMAIN:3478?transport=tcp,turns:$DOMAIN:5349?transport=tcp"
  [ -n "$TURNS_443" ] && urls="$urls,turns:${TURNS_443%%=*}:443?transport=tcp"
  cat <<EOF

# Calls: coturn (/etc/turnserver.conf) checks TURN_SECRET with use-auth-secret.
TURN_URLS=$urls
TURN_SECRET=$(random_secret)
EOF
}

write_settings() {
  # Made once; --update never rewrites it. --turn on a later run adds the TURN lines once.
  local file
  file="$(in_root "$ENV_FILE")"
  if [ -f "$file" ]; then
    if [ "$TURN" = 1 ] && [ -z "$(setting TURN_SECRET)" ]; then
      turn_lines >>"$file"
      CHANGED+=("$ENV_FILE")
    fi
    return
  fi
  [ -n "$DOMAIN" ] || die "--install needs --domain NAME (a DNS name pointing at this box) for HTTPS"
  local subject="mailto:${EMAIL:-admin@$DOMAIN}"
  write_file "$ENV_FILE" 0600 < <( # root's: systemd reads it before the service drops to its user
    cat <<EOF
# Payambar's settings, read by payambar.service. Made by deploy/install.sh --install and kept
# by --update: edit here, then \`systemctl restart payambar\`. The README's Configuration
# section describes every setting. Mode 0600: it holds the keys.
PAYAMBAR_DOMAIN=$DOMAIN
PAYAMBAR_EMAIL=$EMAIL
PAYAMBAR_TURNS_443=$TURNS_443
PAYAMBAR_WEB_IP=$WEB_IP
HOST=127.0.0.1
PORT=$PORT
ENVIRONMENT=production
DATABASE_URL=sqlite:///$DATA/payambar.db
DATA_DIR=$DATA
FORWARDED_ALLOW_IPS=127.0.0.1
SECRET_KEY=$(random_secret)
VAPID_PRIVATE_KEY=$(vapid_key)
VAPID_SUBJECT=$subject

# Continuous backup off the box (README: Continuous backup). Fill in and uncomment, then restart:
# BACKUP_REPLICA_URL=s3://your-bucket/payambar
# BACKUP_S3_ENDPOINT=https://s3.your-provider.example
# BACKUP_S3_REGION=us-east-1
# BACKUP_S3_ACCESS_KEY_ID=
# BACKUP_S3_SECRET_ACCESS_KEY=
# BACKUP_AGE_KEY=   # from: /opt/payambar/venv/bin/python -m payambar backup-key (keep a copy OFF this box)
EOF
    if [ "$TURN" = 1 ]; then turn_lines; fi
  )
}

write_unit() {
  write_file "$UNIT" 0644 <<EOF
# Payambar, made by deploy/install.sh (rewritten by --update: put changes in a drop-in,
# systemctl edit payambar).
[Unit]
Description=Payambar messenger
Documentation=file://$APP_HOME/app/README.md
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
User=$SERVICE_USER
Group=$SERVICE_USER
EnvironmentFile=$ENV_FILE
Environment=PATH=$APP_HOME/venv/bin:/usr/bin:/bin
Environment=HOME=$DATA
WorkingDirectory=$APP_HOME/app
ExecStart=$APP_HOME/app/deploy/run-web
# SIGTERM to the main process only (Litestream, when backing up, passes it to the server):
# the server drains within --timeout-graceful-shutdown 10, then Litestream syncs a last time.
KillMode=mixed
KillSignal=SIGTERM
TimeoutStopSec=20
Restart=on-failure
RestartSec=2
# Exit status 3: a setting is wrong; restarting would only repeat the same line in the log.
RestartPreventExitStatus=3
# Every WebSocket is a descriptor.
LimitNOFILE=131072

NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=$DATA
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
CapabilityBoundingSet=
UMask=0027

[Install]
WantedBy=multi-user.target
EOF
}

write_caddyfile() {
  local bind="" turn_site=""
  if [ -n "$TURNS_443" ]; then
    [ -n "$WEB_IP" ] || die "--turns-443 needs --web-ip (the address Caddy keeps; coturn takes ${TURNS_443#*=}:443)"
    bind="	bind $WEB_IP"
    # Only so Caddy obtains and renews the turn name's certificate (HTTP challenge on port 80
    # of the turn address); coturn serves it on 443 of that address.
    turn_site="
${TURNS_443%%=*}:8443 {
	bind ${TURNS_443#*=}
	respond \"\" 404
}"
  fi
  local email_line="" existing
  [ -n "$EMAIL" ] && email_line="	email $EMAIL"
  existing="$(in_root "$CADDYFILE")"
  if [ -f "$existing" ] && ! grep -qi "made by deploy/install.sh" "$existing" && [ ! -f "$existing.before-payambar" ]; then
    cp -p "$existing" "$existing.before-payambar" # the package's own, put back by --uninstall
  fi
  write_file "$CADDYFILE" 0644 <<EOF
# Made by deploy/install.sh for Payambar (rewritten by --update). Caddy obtains and renews the
# certificate by itself; ports 80 and 443 must be open.
{
$email_line
}

$DOMAIN {
$bind
	encode zstd gzip
	# WebSockets pass through as they are. Caddy sets X-Forwarded-For to the address the
	# connection came from (replacing what a client sent), and the app believes it from
	# 127.0.0.1 only (FORWARDED_ALLOW_IPS).
	reverse_proxy 127.0.0.1:$PORT {
		flush_interval -1
	}
	header Strict-Transport-Security "max-age=31536000"
	log {
		output stderr
		format filter {
			wrap console
			fields {
				request>uri delete
				request>headers delete
			}
		}
	}
}
$turn_site
EOF
}

write_turn() {
  [ -n "$(setting TURN_SECRET)" ] || return 0
  local name="$DOMAIN" alt=""
  [ -n "$TURNS_443" ] && name="${TURNS_443%%=*}"
  if [ -n "$TURNS_443" ]; then
    alt="listening-ip=${TURNS_443#*=}
alt-tls-listening-port=443"
  fi
  write_file "$TURN_CONF" 0640 <<EOF
# coturn for Payambar's calls, made by deploy/install.sh (rewritten by --update).
# Credentials are short-lived, made by the server from TURN_SECRET (use-auth-secret).
listening-port=3478
tls-listening-port=5349
$alt
min-port=49152
max-port=65535
fingerprint
use-auth-secret
static-auth-secret=$(setting TURN_SECRET)
realm=$DOMAIN
cert=/etc/coturn/tls/turn.crt
pkey=/etc/coturn/tls/turn.key
no-cli
no-tlsv1
no-tlsv1_1
no-multicast-peers
# Relays may reach the public internet only, never this box or its private networks.
denied-peer-ip=0.0.0.0-0.255.255.255
denied-peer-ip=10.0.0.0-10.255.255.255
denied-peer-ip=100.64.0.0-100.127.255.255
denied-peer-ip=127.0.0.0-127.255.255.255
denied-peer-ip=169.254.0.0-169.254.255.255
denied-peer-ip=172.16.0.0-172.31.255.255
denied-peer-ip=192.168.0.0-192.168.255.255
denied-peer-ip=::1
denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
denied-peer-ip=fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff
total-quota=300
user-quota=12
stale-nonce=600
log-file=stdout
simple-log
EOF
  owned_by_service "root:turnserver" "$(in_root "$TURN_CONF")"
  # coturn reads Caddy's certificate for the name, copied where its user may read it, daily.
  write_file "$TURN_CERT_UNIT.service" 0644 <<EOF
[Unit]
Description=Copy Caddy's certificate for $name to coturn
After=caddy.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'set -e; dir=\$\$(ls -d $CADDY_CERTIFICATES/*/$name | head -1); install -d -m 0750 -g turnserver /etc/coturn/tls; install -m 0640 -g turnserver "\$\$dir/$name.crt" /etc/coturn/tls/turn.crt; install -m 0640 -g turnserver "\$\$dir/$name.key" /etc/coturn/tls/turn.key; systemctl try-reload-or-restart coturn'
EOF
  write_file "$TURN_CERT_UNIT.timer" 0644 <<EOF
[Unit]
Description=Copy Caddy's certificate for $name to coturn, daily

[Timer]
OnBootSec=2min
OnUnitActiveSec=1d

[Install]
WantedBy=timers.target
EOF
}

start_services() {
  system systemctl daemon-reload
  system systemctl enable payambar.service
  system systemctl restart payambar.service
  system systemctl reload-or-restart caddy.service
  if [ -n "$(setting TURN_SECRET)" ]; then
    system systemctl enable --now payambar-turn-certificate.timer
    system systemctl start payambar-turn-certificate.service || say "coturn waits for Caddy's first certificate (the timer tries again)"
    system systemctl enable --now coturn.service
  fi
}

install_or_update() {
  need_root
  [ "$ACTION" = install ] && install_packages
  if [ "$ACTION" = update ]; then
    [ -f "$(in_root "$ENV_FILE")" ] || die "nothing installed at $(in_root "$ENV_FILE"): run --install first"
    DOMAIN="$(setting PAYAMBAR_DOMAIN)" EMAIL="$(setting PAYAMBAR_EMAIL)"
    [ -n "$(setting TURN_SECRET)" ] && TURN=1
  fi
  make_user
  copy_code
  make_venv
  make_data_folder
  write_settings
  DOMAIN="$(setting PAYAMBAR_DOMAIN)" EMAIL="$(setting PAYAMBAR_EMAIL)"
  TURNS_443="$(setting PAYAMBAR_TURNS_443)" WEB_IP="$(setting PAYAMBAR_WEB_IP)"
  write_unit
  write_caddyfile
  write_turn
  start_services
  if [ ${#CHANGED[@]} -eq 0 ]; then say "nothing to change"; else say "changed: ${CHANGED[*]}"; fi
  say "https://$DOMAIN/ (settings: $ENV_FILE, data: $DATA, logs: journalctl -u payambar)"
}

uninstall() {
  need_root
  system systemctl disable --now payambar.service || true
  if [ -f "$(in_root "$TURN_CERT_UNIT.timer")" ]; then
    system systemctl disable --now payambar-turn-certificate.timer || true
  fi
  rm -f "$(in_root "$UNIT")" "$(in_root "$TURN_CERT_UNIT.service")" "$(in_root "$TURN_CERT_UNIT.timer")"
  rm -rf "$(in_root "$APP_HOME")"
  for made in "$CADDYFILE" "$TURN_CONF"; do
    if grep -qis "made by deploy/install.sh" "$(in_root "$made")"; then rm -f "$(in_root "$made")"; fi
  done
  if [ -f "$(in_root "$CADDYFILE").before-payambar" ]; then
    mv "$(in_root "$CADDYFILE").before-payambar" "$(in_root "$CADDYFILE")"
  fi
  system systemctl daemon-reload
  system systemctl reload-or-restart caddy.service || true
  if [ "$PURGE" = 1 ]; then
    rm -rf "$(in_root "$DATA")" "$(in_root /etc/payambar)"
    if ! dry_run && id -u "$SERVICE_USER" >/dev/null 2>&1; then userdel "$SERVICE_USER"; fi
    say "removed, with the data and the settings"
  else
    say "removed; the data ($DATA) and the settings ($ENV_FILE) are kept (--purge removes them)"
  fi
}

case "$ACTION" in
  install | update) install_or_update ;;
  uninstall) uninstall ;;
esac
