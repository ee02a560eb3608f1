#!/bin/bash
# TinyStack NAT instance: user data of the NAT launch template, and (copied to /usr/local/sbin/tinystack-nat) the
# `restore` step a systemd unit replays after a reboot.
#
# It attaches the stack's static network interface (the one the app routes and the Elastic IP point at), routes the
# instance's default route out of it, forwards and masquerades the VPC CIDR there, and persists all of that. Any
# failing step marks the instance Unhealthy, so the Auto Scaling group replaces it, and says why in the boot log,
# which goes to the CloudWatch log group NAT_LOG_GROUP (stream = instance id) and /var/log/tinystack-nat.log.
#
# It installs nothing before the Elastic IP path works: it needs only what the standard AL2023 AMI ships (bash,
# iproute2, curl, python3, AWS CLI v2), and nft, which the standard AL2023 AMI has as its packet filter (the minimal
# AMI lacks it: jamesmoriarty/cfn-cheapest-nat #14/#16; alterNAT's AL2023 port, chime/terraform-aws-alternat #116,
# uses nft). iptables is used when nft is absent. With neither, it installs nftables with dnf only once egress
# through the static interface works, and fails loudly when that fails.
#
# With a NAT per AZ, `watchdog` (a systemd service the boot writes) probes the other NATs' static addresses; a peer
# silent for NAT_TAKEOVER_AFTER seconds loses its AZ's default route to the lowest-numbered NAT still alive, and every
# NAT keeps (or takes back) its own AZ's route. A NAT that cannot reach the EC2 API (its own egress) changes nothing
# and stops answering the probes, so that its own AZ goes to a NAT that has egress. Probes are ping (AL2023's iputils).
#
# Environment overrides, all optional (the tests use them; on EC2 the defaults apply): TINYSTACK_ROOT (prefix for
# every file written), TINYSTACK_IMDS_URL, NAT_ATTACH_TIMEOUT, NAT_WAIT_TIMEOUT, NAT_POLL_INTERVAL,
# NAT_TAKEOVER_AFTER, NAT_WATCH_INTERVAL (seconds).
set -euo pipefail
# @config@
: "${NAT_ENI_ID:?}" "${NAT_VPC_CIDR:?}" "${NAT_LOG_GROUP:?}" "${NAT_INDEX:=1}" "${NAT_PEERS:=}" "${NAT_ROUTES:=}"

ROOT="${TINYSTACK_ROOT:-}"
IMDS="${TINYSTACK_IMDS_URL:-http://169.254.169.254}"
ATTACH_TIMEOUT="${NAT_ATTACH_TIMEOUT:-300}"
WAIT_TIMEOUT="${NAT_WAIT_TIMEOUT:-120}"
POLL="${NAT_POLL_INTERVAL:-2}"
TAKEOVER_AFTER="${NAT_TAKEOVER_AFTER:-6}"
WATCH_INTERVAL="${NAT_WATCH_INTERVAL:-2}"
STATE="$ROOT/etc/tinystack-nat"
LOG="$ROOT/var/log/tinystack-nat.log"
INSTALLED="$ROOT/usr/local/sbin/tinystack-nat"
UNIT="$ROOT/etc/systemd/system/tinystack-nat.service"
export AWS_PAGER=""
mkdir -p "$STATE" "${LOG%/*}"

step="starting"
INSTANCE_ID=""

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" | tee -a "$LOG" >&2; }

ship_log() {
  [ -n "$INSTANCE_ID" ] || return 0
  aws logs create-log-stream --log-group-name "$NAT_LOG_GROUP" --log-stream-name "$INSTANCE_ID" >/dev/null 2>&1 || true
  python3 - "$LOG" >"$STATE/log-events.json" <<'PY'
import json, sys, time
now = int(time.time() * 1000)
print(json.dumps([{"timestamp": now, "message": line.rstrip("\n")} for line in open(sys.argv[1]) if line.strip()]))
PY
  aws logs put-log-events --log-group-name "$NAT_LOG_GROUP" --log-stream-name "$INSTANCE_ID" \
    --log-events "file://$STATE/log-events.json" >/dev/null
}

on_exit() {
  local status=$?
  trap - EXIT
  if [ "$status" -ne 0 ]; then
    log "FAILED while $step (exit $status): marking the instance Unhealthy so the Auto Scaling group replaces it"
    if [ -n "$INSTANCE_ID" ]; then
      aws autoscaling set-instance-health --instance-id "$INSTANCE_ID" --health-status Unhealthy \
        --no-should-respect-grace-period || log "could not mark $INSTANCE_ID Unhealthy"
    fi
  fi
  # After a reboot the journal has the unit's output; CloudWatch gets the log when something failed.
  if [ "$status" -ne 0 ] || [ "${MODE:-boot}" = boot ]; then
    ship_log || log "could not ship the log to $NAT_LOG_GROUP"
  fi
  exit "$status"
}
trap on_exit EXIT

# Runs "$@" until it succeeds or $1 seconds pass.
wait_for() {
  local timeout=$1 deadline
  shift
  deadline=$((SECONDS + timeout))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep "$POLL"
  done
}

imds_token() { TOKEN=$(curl -sf --max-time 2 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 21600" "$IMDS/latest/api/token"); }
imds() { curl -sf --max-time 2 -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/latest/meta-data/$1"; }

has_default_route() { [ -n "$(ip -4 route show default)" ]; }

# The interface whose MAC address is $1, once it has an IPv4 address (the OS configures an attached interface).
interface_with_mac() {
  local name
  name=$(ip -o link | awk -v mac="${1,,}" 'tolower($0) ~ ("link/ether " mac) {sub(":$", "", $2); sub("@.*", "", $2); print $2}')
  [ -n "$name" ] && [[ "$(ip -4 -o addr show dev "$name")" == *" inet "* ]] && STATIC_IF=$name
}

eni_field() {
  aws ec2 describe-network-interfaces --network-interface-ids "$NAT_ENI_ID" \
    --query "NetworkInterfaces[0].$1" --output text
}

# One attempt: done when the interface is ours; a previous instance of the group (a roll, a replacement whose
# predecessor is still shutting down) loses it at once, so egress resumes here instead of after its shutdown.
attach_static_interface() {
  local holder attachment
  read -r holder attachment STATIC_MAC < <(eni_field "[Attachment.InstanceId, Attachment.AttachmentId, MacAddress]") ||
    return 1
  [ "$holder" = "$INSTANCE_ID" ] && return 0
  if [ "$holder" != "None" ] && [ -n "$holder" ]; then
    log "$NAT_ENI_ID is held by $holder: detaching it"
    aws ec2 detach-network-interface --attachment-id "$attachment" --force >/dev/null || true
  fi
  aws ec2 attach-network-interface --network-interface-id "$NAT_ENI_ID" --instance-id "$INSTANCE_ID" \
    --device-index 1 >/dev/null || { log "attach-network-interface refused; retrying"; return 1; }
}

egress_interface() { ip -4 -o route get 192.0.2.1 | sed -n 's/.* dev \([^ ]*\).*/\1/p'; }

firewall_tool() {
  if command -v nft >/dev/null; then echo nft; elif command -v iptables >/dev/null; then echo iptables; fi
}

install_nftables() {
  local attempt
  for attempt in 1 2 3; do
    dnf install -y nftables && return 0
    log "dnf install nftables failed (attempt $attempt)"
    sleep "$POLL"
  done
  return 1
}

# Writes the masquerade rules for interface $1 to $STATE and loads them.
masquerade() {
  if [ "$TOOL" = nft ]; then
    cat >"$STATE/nat.nft" <<EOF
table ip tinystack_nat
delete table ip tinystack_nat
table ip tinystack_nat {
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    ip saddr $NAT_VPC_CIDR oifname "$1" masquerade
  }
}
EOF
  else
    cat >"$STATE/nat.iptables" <<EOF
*nat
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s $NAT_VPC_CIDR -o $1 -j MASQUERADE
COMMIT
*filter
:FORWARD ACCEPT [0:0]
COMMIT
EOF
  fi
  load_rules
}

load_rules() {
  if [ "$TOOL" = nft ]; then nft -f "$STATE/nat.nft"; else iptables-restore <"$STATE/nat.iptables"; fi
}

rules_loaded() {
  if [ "$TOOL" = nft ]; then
    [[ "$(nft list table ip tinystack_nat)" == *"oifname \"$EGRESS_IF\" masquerade"* ]]
  else
    iptables -t nat -C POSTROUTING -s "$NAT_VPC_CIDR" -o "$EGRESS_IF" -j MASQUERADE
  fi
}

enable_forwarding() {
  mkdir -p "$ROOT/etc/sysctl.d"
  printf 'net.ipv4.ip_forward = 1\n' >"$ROOT/etc/sysctl.d/90-tinystack-nat.conf"
  sysctl -q -p "$ROOT/etc/sysctl.d/90-tinystack-nat.conf"
  [ "$(sysctl -n net.ipv4.ip_forward)" = 1 ]
}

# The default route leaves through the static interface, whose address the Elastic IP maps to (as fck-nat does);
# the primary interface's default route (DHCP) goes, or the kernel could still prefer it.
route_out_static_interface() {
  local other
  ip route replace default via "$GATEWAY" dev "$STATIC_IF" metric 10
  while read -r other; do
    [ -n "$other" ] && ip route del $other
  done < <(ip -4 route show default | grep -v " dev $STATIC_IF ")
  EGRESS_IF=$(egress_interface)
  [ "$EGRESS_IF" = "$STATIC_IF" ]
}

persist() {
  mkdir -p "${INSTALLED%/*}"
  install -m 0755 "$0" "$INSTALLED"
  printf 'INSTANCE_ID=%s\nAWS_DEFAULT_REGION=%s\nSTATIC_MAC=%s\nGATEWAY=%s\nTOOL=%s\n' "$INSTANCE_ID" \
    "$AWS_DEFAULT_REGION" "$STATIC_MAC" "$GATEWAY" "$TOOL" >"$STATE/nat.env"
  mkdir -p "${UNIT%/*}"
  cat >"$UNIT" <<'EOF'
[Unit]
Description=TinyStack NAT: forwarding, the default route out of the static interface, masquerade (after a reboot)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/tinystack-nat restore

[Install]
WantedBy=multi-user.target
EOF
  cat >"${UNIT%/*}/tinystack-nat-watchdog.service" <<'EOF'
[Unit]
Description=TinyStack NAT watchdog: keeps this AZ's default route, takes over a dead NAT's AZ
After=tinystack-nat.service

[Service]
ExecStart=/usr/local/sbin/tinystack-nat watchdog
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
EOF
  systemctl daemon-reload
  systemctl enable tinystack-nat.service
  systemctl enable --now tinystack-nat-watchdog.service
}

# The address AWS gave the primary interface at launch is only for the API calls above: egress now leaves through
# the Elastic IP, so giving it back saves $3.65/month. Failing here costs money, not egress, so it is only logged.
release_launch_address() {
  local mac primary
  mac=$(imds mac) && primary=$(imds "network/interfaces/macs/$mac/interface-id") &&
    aws ec2 modify-network-interface-attribute --network-interface-id "$primary" --no-associate-public-ip-address &&
    log "released the launch-time public IPv4 address of $primary" ||
    log "could not release the launch-time public IPv4 address (costs \$3.65/month, egress unaffected)"
}

boot() {
  step="reading instance metadata"
  wait_for "$WAIT_TIMEOUT" imds_token
  INSTANCE_ID=$(imds instance-id)
  AWS_DEFAULT_REGION=$(imds placement/region)
  export AWS_DEFAULT_REGION
  log "instance $INSTANCE_ID in $AWS_DEFAULT_REGION: NAT for $NAT_VPC_CIDR through $NAT_ENI_ID"

  step="waiting for a default route"
  wait_for "$WAIT_TIMEOUT" has_default_route
  GATEWAY=$(ip -4 route show default | awk 'NR == 1 {print $3}')

  step="attaching $NAT_ENI_ID"
  wait_for "$ATTACH_TIMEOUT" attach_static_interface
  log "attached $NAT_ENI_ID ($STATIC_MAC)"

  step="waiting for the interface of $NAT_ENI_ID"
  wait_for "$WAIT_TIMEOUT" interface_with_mac "$STATIC_MAC"

  step="routing out of $STATIC_IF"
  route_out_static_interface

  step="enabling forwarding"
  enable_forwarding

  step="finding nft or iptables"
  TOOL=$(firewall_tool)
  if [ -z "$TOOL" ]; then
    log "neither nft nor iptables is installed: installing nftables through the Elastic IP"
    install_nftables
    TOOL=$(firewall_tool)
    [ -n "$TOOL" ]
  fi

  step="masquerading $NAT_VPC_CIDR out of $EGRESS_IF with $TOOL"
  masquerade "$EGRESS_IF"
  rules_loaded

  step="persisting the NAT for reboots"
  persist

  step="releasing the launch-time address"
  release_launch_address
  log "NAT ready: $NAT_VPC_CIDR masqueraded out of $EGRESS_IF ($NAT_ENI_ID)"
}

# After a reboot: the same forwarding, route and rules, from what boot() persisted, without any API call.
restore() {
  step="restoring the NAT after a reboot"
  # shellcheck disable=SC1091
  . "$STATE/nat.env"
  wait_for "$WAIT_TIMEOUT" interface_with_mac "$STATIC_MAC"
  route_out_static_interface
  enable_forwarding
  load_rules
  rules_loaded
  log "NAT restored after a reboot: out of $EGRESS_IF"
}

# The default route of each app route table, as "<table> <target interface>" lines.
default_routes() {
  local tables=() entry
  for entry in $NAT_ROUTES; do tables+=("${entry%%:*}"); done
  aws ec2 describe-route-tables --cli-connect-timeout 2 --cli-read-timeout 5 --route-table-ids "${tables[@]}" \
    --output text \
    --query 'RouteTables[].[RouteTableId, Routes[?DestinationCidrBlock==`0.0.0.0/0`].NetworkInterfaceId | [0]]'
}

ignore_probes() {
  if [ "$TOOL" = nft ]; then
    nft -f - <<'EOF'
table ip tinystack_silent
delete table ip tinystack_silent
table ip tinystack_silent {
  chain input {
    type filter hook input priority 0; policy accept;
    icmp type echo-request drop
  }
}
EOF
  else
    iptables -C INPUT -p icmp --icmp-type echo-request -j DROP 2>/dev/null ||
      iptables -I INPUT -p icmp --icmp-type echo-request -j DROP
  fi
}

answer_probes() {
  if [ "$TOOL" = nft ]; then
    nft delete table ip tinystack_silent 2>/dev/null || true
  else
    while iptables -D INPUT -p icmp --icmp-type echo-request -j DROP 2>/dev/null; do :; done
  fi
}

watchdog() {
  step="watching the other NATs"
  # shellcheck disable=SC1091
  . "$STATE/nat.env"
  # Short API timeouts: a NAT without egress must notice within a probe period, not after the CLI's minute.
  export AWS_DEFAULT_REGION AWS_MAX_ATTEMPTS=2 AWS_RETRY_MODE=standard
  local -A last_seen=() target=()
  local entry index address table owner alive lowest wanted routes
  for entry in $NAT_PEERS; do last_seen[${entry%%:*}]=$SECONDS; done
  log "watchdog of NAT $NAT_INDEX: peers $NAT_PEERS; routes $NAT_ROUTES"
  while true; do
    for entry in $NAT_PEERS; do
      index=${entry%%:*} address=${entry#*:}
      [ "$index" = "$NAT_INDEX" ] && continue
      ping -c 1 -W 1 "$address" >/dev/null 2>&1 && last_seen[$index]=$SECONDS
    done
    alive=" $NAT_INDEX " lowest=$NAT_INDEX
    for index in "${!last_seen[@]}"; do
      if [ "$index" = "$NAT_INDEX" ] || [ $((SECONDS - last_seen[$index])) -lt "$TAKEOVER_AFTER" ]; then
        alive+="$index "
        [ "$index" -lt "$lowest" ] && lowest=$index
      fi
    done
    # The API call is also the test of this NAT's own egress: without it, it takes nothing over, and it stops
    # answering the others' probes, so that the lowest NAT that still has egress takes its AZ over.
    if routes=$(default_routes 2>/dev/null); then
      answer_probes
      target=()
      while read -r table wanted; do target[$table]=$wanted; done <<<"$routes"
      for entry in $NAT_ROUTES; do
        table=${entry%%:*} owner=${entry#*:}
        [[ "$alive" == *" $owner "* ]] || owner=$lowest
        if [ "$owner" = "$NAT_INDEX" ] && [ "${target[$table]:-}" != "$NAT_ENI_ID" ]; then
          aws ec2 replace-route --route-table-id "$table" --destination-cidr-block 0.0.0.0/0 \
            --network-interface-id "$NAT_ENI_ID" &&
            log "took the default route of $table (was ${target[$table]:-none}; alive:$alive)"
        fi
      done
    else
      log "cannot reach the EC2 API: taking nothing over, and going silent for the other NATs"
      ignore_probes
    fi
    sleep "$WATCH_INTERVAL"
  done
}

MODE="${1:-boot}"
case "$MODE" in
  boot) boot ;;
  restore) restore ;;
  watchdog) watchdog ;;
  *) echo "usage: $0 [boot|restore|watchdog]" >&2; exit 2 ;;
esac
