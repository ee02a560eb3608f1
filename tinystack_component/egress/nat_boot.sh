#!/bin/bash
# TinyStack NAT user data (boot), installed as /usr/local/sbin/tinystack-nat for restore (reboot) and watchdog.
# Boot is silent to peer pings; preflight (firewall tool: nft, else iptables, else dnf's nftables over the
# launch-time public IP; ruleset check; sysctls) runs while the predecessor still forwards; then it attaches the
# static interface (routes and Elastic IP target it), masquerades, persists. A failure logs why (NAT_LOG_GROUP),
# marks the instance Unhealthy (else powers off) and downs the static interface. Peers only ping, so a NAT answers
# only while it forwards; it writes a route table only over a dead target, or takes its own back on becoming healthy
# and every NAT_RECONCILE s, never from a NAT its config lacks. Tests override TINYSTACK_*, AWS_ENDPOINT_URL, NAT_*.
set -euo pipefail
# @config@
: "${NAT_ENI_ID:?}" "${NAT_VPC_CIDR:?}" "${NAT_LOG_GROUP:?}" "${NAT_INDEX:=1}" "${NAT_PEERS:=}" "${NAT_ROUTES:=}"
ROOT="${TINYSTACK_ROOT:-}"
IMDS="${TINYSTACK_IMDS_URL:-http://169.254.169.254}"
POLL="${NAT_POLL_INTERVAL:-2}"
STATE="$ROOT/etc/tinystack-nat"
LOG="$ROOT/var/log/tinystack-nat.log"
INSTALLED="$ROOT/usr/local/sbin/tinystack-nat"
UNITS="$ROOT/etc/systemd/system"
SYSCTL="$ROOT/etc/sysctl.d/90-tinystack-nat.conf"
export AWS_PAGER=""
mkdir -p "$STATE" "${LOG%/*}"
step="starting" INSTANCE_ID="" STATIC_IF=""

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" | tee -a "$LOG" >&2; }
silent() { sysctl -qw "net.ipv4.icmp_echo_ignore_all=$1"; }

ship_log() {
  [ -n "$INSTANCE_ID" ] || return 0
  aws logs create-log-stream --log-group-name "$NAT_LOG_GROUP" --log-stream-name "$INSTANCE_ID" >/dev/null 2>&1 || true
  python3 -c 'import json,sys,time;t=int(time.time()*1000);print(json.dumps([{"timestamp":t,"message":l.rstrip()} for l in open(sys.argv[1]) if l.strip()]))' \
    "$LOG" >"$STATE/log-events.json"
  aws logs put-log-events --log-group-name "$NAT_LOG_GROUP" --log-stream-name "$INSTANCE_ID" \
    --log-events "file://$STATE/log-events.json" >/dev/null
}

on_exit() {
  local status=$? marked=1
  trap - EXIT
  if [ "$status" -ne 0 ]; then
    silent 1 || true
    log "FAILED while $step (exit $status): marking the instance Unhealthy"
    [ -n "$INSTANCE_ID" ] && aws autoscaling set-instance-health --instance-id "$INSTANCE_ID" \
      --health-status Unhealthy --no-should-respect-grace-period || marked=0
    [ "$marked" = 1 ] || log "could not mark the instance Unhealthy: powering off"
  fi
  if [ "$status" -ne 0 ] || [ "${MODE:-boot}" = boot ]; then
    ship_log || log "could not ship the log to $NAT_LOG_GROUP"
  fi
  # Last: the API calls above may need the static interface's route.
  if [ "$status" -ne 0 ]; then
    [ -z "$STATIC_IF" ] || ip link set "$STATIC_IF" down || true
    [ "$marked" = 1 ] || poweroff || shutdown -h now || true
  fi
  exit "$status"
}
trap on_exit EXIT

wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep "$POLL"
  done
}

imds_token() { TOKEN=$(curl -sf --max-time 2 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 21600" "$IMDS/latest/api/token"); }
imds() { curl -sf --max-time 2 -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/latest/meta-data/$1"; }
has_default_route() { [ -n "$(ip -4 route show default)" ]; }

interface_with_mac() {
  local name
  name=$(ip -o link | awk -v mac="${1,,}" 'tolower($0) ~ ("link/ether " mac) {sub(":$", "", $2); sub("@.*", "", $2); print $2}')
  [ -n "$name" ] && [[ "$(ip -4 -o addr show dev "$name")" == *" inet "* ]] && STATIC_IF=$name
}

eni() { aws ec2 describe-network-interfaces --network-interface-ids "$1" --query "NetworkInterfaces[0].$2" --output text; }

detached() { [ "$(eni "$NAT_ENI_ID" Attachment.InstanceId)" = None ]; }

# A predecessor (roll, replacement) loses the interface: a normal detach, forced after NAT_DETACH_TIMEOUT.
attach_static_interface() {
  local holder attachment
  read -r holder attachment STATIC_MAC < <(eni "$NAT_ENI_ID" "[Attachment.InstanceId, Attachment.AttachmentId, MacAddress]") ||
    return 1
  [ "$holder" = "$INSTANCE_ID" ] && return 0
  if [ "$holder" != None ] && [ -n "$holder" ]; then
    log "$NAT_ENI_ID is held by $holder: detaching it"
    aws ec2 detach-network-interface --attachment-id "$attachment" >/dev/null &&
      wait_for "${NAT_DETACH_TIMEOUT:-10}" detached ||
      aws ec2 detach-network-interface --attachment-id "$attachment" --force >/dev/null || true
  fi
  aws ec2 attach-network-interface --network-interface-id "$NAT_ENI_ID" --instance-id "$INSTANCE_ID" \
    --device-index 1 >/dev/null || { log "attach-network-interface refused; retrying"; return 1; }
}

firewall_tool() {
  if command -v nft >/dev/null; then echo nft; elif command -v iptables >/dev/null; then echo iptables; fi
}

write_rules() {
  if [ "$TOOL" = nft ]; then
    printf 'table ip tinystack_nat\ndelete table ip tinystack_nat\ntable ip tinystack_nat {\n chain postrouting {\n  type nat hook postrouting priority 100; policy accept;\n  ip saddr %s oifname "%s" masquerade\n }\n}\n' \
      "$NAT_VPC_CIDR" "$1" >"$RULES"
  else
    printf '*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s %s -o %s -j MASQUERADE\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n' \
      "$NAT_VPC_CIDR" "$1" >"$RULES"
  fi
}

load_rules() { if [ "$TOOL" = nft ]; then nft "$@" -f "$RULES"; else iptables-restore "$@" <"$RULES"; fi; }

rules_loaded() {
  if [ "$TOOL" = nft ]; then
    [[ "$(nft list table ip tinystack_nat 2>/dev/null)" == *"oifname \"$STATIC_IF\" masquerade"* ]]
  else
    iptables -t nat -C POSTROUTING -s "$NAT_VPC_CIDR" -o "$STATIC_IF" -j MASQUERADE 2>/dev/null
  fi
}

# No ICMP redirects (the VPC router routes the subnet; AWS's NAT AMI does the same); silent again after a reboot.
enable_forwarding() {
  local name
  mkdir -p "${SYSCTL%/*}"
  printf 'net.ipv4.ip_forward = 1\nnet.ipv4.conf.all.send_redirects = 0\nnet.ipv4.conf.default.send_redirects = 0\nnet.ipv4.icmp_echo_ignore_all = 1\n' >"$SYSCTL"
  sysctl -q -p "$SYSCTL"
  for name in /proc/sys/net/ipv4/conf/*/send_redirects; do echo 0 >"$name"; done
  [ "$(sysctl -n net.ipv4.ip_forward)" = 1 ]
}

# Out of the static interface (the Elastic IP maps to its address); the primary's DHCP route goes, or wins.
route_out_static_interface() {
  local other
  ip route replace default via "$GATEWAY" dev "$STATIC_IF" metric 10
  while read -r other; do
    [ -n "$other" ] && ip route del $other
  done < <(ip -4 route show default | grep -v " dev $STATIC_IF ")
  routed_out_static_interface
}
routed_out_static_interface() { [ "$(ip -4 -o route get 192.0.2.1 | sed -n 's/.* dev \([^ ]*\).*/\1/p')" = "$STATIC_IF" ]; }

unit() {
  printf '[Unit]\nDescription=TinyStack NAT %s\nWants=network-online.target\nAfter=network-online.target%s\n\n[Service]\nExecStart=/usr/local/sbin/tinystack-nat %s\n%s\n\n[Install]\nWantedBy=multi-user.target\n' \
    "$1" "${4:-}" "$1" "$2" >"$UNITS/tinystack-nat$3.service"
}

persist() {
  mkdir -p "${INSTALLED%/*}" "$UNITS"
  install -m 0755 "$0" "$INSTALLED"
  printf 'INSTANCE_ID=%s\nAWS_DEFAULT_REGION=%s\nSTATIC_MAC=%s\nGATEWAY=%s\nTOOL=%s\nPRIMARY_ENI=%s\n' "$INSTANCE_ID" \
    "$AWS_DEFAULT_REGION" "$STATIC_MAC" "$GATEWAY" "$TOOL" "$PRIMARY_ENI" >"$STATE/nat.env"
  unit restore $'Type=oneshot\nRemainAfterExit=yes' ""
  unit watchdog $'Restart=always\nRestartSec=2' -watchdog " tinystack-nat.service"
  systemctl daemon-reload
  systemctl enable tinystack-nat.service
  systemctl enable --now tinystack-nat-watchdog.service
}

# The launch-time public IPv4 ($3.65/month) only served the calls before the attach: retried until gone.
release() {
  aws ec2 modify-network-interface-attribute --network-interface-id "$PRIMARY_ENI" --no-associate-public-ip-address ||
    log "could not release the public IPv4 of $PRIMARY_ENI yet"
}
released() {
  [ -n "${RELEASED:-}" ] || { [ "$(eni "$PRIMARY_ENI" Association.PublicIp)" = None ] && RELEASED=1 &&
    log "the launch-time public IPv4 of $PRIMARY_ENI is released"; }
}

boot() {
  step="reading instance metadata"
  wait_for "${NAT_WAIT_TIMEOUT:-120}" imds_token
  INSTANCE_ID=$(imds instance-id)
  AWS_DEFAULT_REGION=$(imds placement/region)
  PRIMARY_ENI=$(imds "network/interfaces/macs/$(imds mac)/interface-id")
  export AWS_DEFAULT_REGION
  log "instance $INSTANCE_ID: NAT for $NAT_VPC_CIDR through $NAT_ENI_ID"

  step="waiting for a default route"
  wait_for "${NAT_WAIT_TIMEOUT:-120}" has_default_route
  GATEWAY=$(ip -4 route show default | awk 'NR == 1 {print $3}')

  step="finding nft or iptables"
  TOOL=$(firewall_tool)
  if [ -z "$TOOL" ]; then
    log "no nft or iptables: installing nftables"
    for _ in 1 2 3; do dnf install -y nftables && break; sleep "$POLL"; done
    TOOL=$(firewall_tool)
    [ -n "$TOOL" ]
  fi
  RULES="$STATE/nat.$TOOL"

  step="validating the $TOOL ruleset"
  write_rules preflight0
  if [ "$TOOL" = nft ]; then load_rules -c; else load_rules --test; fi

  step="enabling forwarding"
  enable_forwarding

  step="attaching $NAT_ENI_ID"
  wait_for "${NAT_ATTACH_TIMEOUT:-300}" attach_static_interface
  log "attached $NAT_ENI_ID ($STATIC_MAC)"

  step="waiting for the interface of $NAT_ENI_ID"
  wait_for "${NAT_WAIT_TIMEOUT:-120}" interface_with_mac "$STATIC_MAC"
  echo 0 >"/proc/sys/net/ipv4/conf/$STATIC_IF/send_redirects"

  step="routing out of $STATIC_IF"
  route_out_static_interface

  step="masquerading $NAT_VPC_CIDR out of $STATIC_IF with $TOOL"
  write_rules "$STATIC_IF"
  load_rules
  rules_loaded

  step="persisting the NAT for reboots"
  persist
  silent 0

  release
  log "NAT ready: $NAT_VPC_CIDR masqueraded out of $STATIC_IF ($NAT_ENI_ID)"
}

load_state() {
  set -a
  # shellcheck disable=SC1091
  . "$STATE/nat.env"
  set +a
  RULES="$STATE/nat.$TOOL"
}

# After a reboot, without any API call.
restore() {
  step="restoring the NAT after a reboot"
  load_state
  wait_for "${NAT_WAIT_TIMEOUT:-120}" interface_with_mac "$STATIC_MAC"
  route_out_static_interface
  enable_forwarding
  load_rules
  rules_loaded
  silent 0
  log "NAT restored after a reboot: out of $STATIC_IF"
}

# Alive = forwards. The OS (networkd, ec2-net-utils) may drop a foreign route: re-applied. Egress = the API's TCP
# connect (a slow, throttled or denied answer is still egress).
forwards() {
  [ "$(sysctl -n net.ipv4.ip_forward)" = 1 ] && interface_with_mac "$STATIC_MAC" && rules_loaded &&
    { routed_out_static_interface || { log "default route drifted: re-applying it"; route_out_static_interface && repaired=1; }; } &&
    [ "$(curl -s -o /dev/null -w '%{time_connect}' --connect-timeout 2 -m 4 "${AWS_ENDPOINT_URL:-https://ec2.$AWS_DEFAULT_REGION.amazonaws.com/}")" != 0.000000 ]
}

default_routes() {
  local tables=() entry
  for entry in $NAT_ROUTES; do tables+=("${entry%%:*}"); done
  local d='Routes[?DestinationCidrBlock==`0.0.0.0/0`] | [0]'
  aws ec2 describe-route-tables --route-table-ids "${tables[@]}" --output text \
    --query "RouteTables[].[RouteTableId, $d.NetworkInterfaceId, $d.State]"
}

# Peer index by static interface id.
peer_interfaces() {
  local addresses=() entry address id
  for entry in $NAT_PEERS; do addresses+=("${entry#*:}"); done
  [ "${#addresses[@]}" -gt 0 ] || return 0
  while read -r address id; do
    for entry in $NAT_PEERS; do [ "${entry#*:}" = "$address" ] && peer_of[$id]=${entry%%:*}; done
  done < <(aws ec2 describe-network-interfaces --filters "Name=addresses.private-ip-address,Values=$(IFS=,; echo "${addresses[*]}")" \
    --output text --query 'NetworkInterfaces[].[PrivateIpAddress, NetworkInterfaceId]')
}

# $1 = 1 on becoming healthy and every NAT_RECONCILE s: only then an owner takes its table back from a live peer.
reconcile() {
  local routes table target state entry owner holder wanted pause="${NAT_BACKOFF:-300}"
  [ -n "$NAT_ROUTES" ] || return 0
  routes=$(default_routes) || return 1
  while read -r table target state; do
    for entry in $NAT_ROUTES; do [ "${entry%%:*}" = "$table" ] && owner=${entry#*:}; done
    holder=${peer_of[$target]:-}
    # A table that just moved to a peer proves that peer alive, whatever its pings said so far.
    [ -z "$holder" ] || [ "$target" = "${last_target[$table]:-$target}" ] || { last_seen[$holder]=$SECONDS; alive+="$holder "; }
    last_target[$table]=$target
    [ "$target" = "$NAT_ENI_ID" ] && { wrote[$table]=""; continue; }
    if [ -n "${wrote[$table]:-}" ]; then  # overwritten: NAT_MAX_CONTESTS within NAT_BACKOFF s = back off
      [ $((SECONDS - ${contest_at[$table]:-0})) -lt "$pause" ] || contests[$table]=0
      wrote[$table]="" contests[$table]=$((${contests[$table]:-0} + 1)) contest_at[$table]=$SECONDS
      log "$table was moved away from this NAT to $target (contest ${contests[$table]})"
      [ "${contests[$table]}" -lt "${NAT_MAX_CONTESTS:-3}" ] ||
        { backoff[$table]=$((SECONDS + pause)) contests[$table]=0; log "leaving $table alone for $pause s"; }
    fi
    [ "$SECONDS" -ge "${backoff[$table]:-0}" ] || continue
    if [ "$state" = blackhole ] || [ "$target" = None ]; then holder=dead
    elif [ -z "$holder" ]; then continue  # a NAT this config does not know: never fight it
    elif [[ "$alive" != *" $holder "* ]]; then holder=dead; fi
    wanted=$owner
    [[ "$alive" == *" $owner "* ]] || wanted=$lowest
    [ "$wanted" = "$NAT_INDEX" ] || continue
    [ "$holder" = dead ] || { [ "$1" = 1 ] && [ "$owner" = "$NAT_INDEX" ]; } || continue
    aws ec2 replace-route --route-table-id "$table" --destination-cidr-block 0.0.0.0/0 \
      --network-interface-id "$NAT_ENI_ID" >/dev/null &&
      wrote[$table]=1 && log "took the default route of $table (was $target; alive:$alive)"
  done <<<"$routes"
}

watchdog() {
  step="watching the other NATs"
  load_state
  # One short attempt (the next loop retries): a call must not hang the loop when egress breaks mid-call.
  export AWS_MAX_ATTEMPTS=1
  aws() { command aws --cli-connect-timeout 2 --cli-read-timeout 5 "$@"; }
  local -A last_seen=() ever=() peer_of=() wrote=() contests=() contest_at=() backoff=() last_target=()
  local entry index alive lowest ok repaired seen="" healthy=0 fresh=1 next=0 interval="${NAT_RECONCILE:-30}"
  for entry in $NAT_PEERS; do last_seen[${entry%%:*}]=$SECONDS; done
  log "watchdog of NAT $NAT_INDEX: peers $NAT_PEERS; routes $NAT_ROUTES"
  while true; do
    repaired="" ok=0
    forwards && ok=1
    # Pings missed while this NAT was broken or just healthy (peers boot silent too) say nothing about its peers.
    [ "$ok$repaired$healthy" = 11 ] || for index in "${!last_seen[@]}"; do last_seen[$index]=$SECONDS; done
    for entry in $NAT_PEERS; do
      [ "${entry%%:*}" = "$NAT_INDEX" ] || ! ping -c 1 -W 1 "${entry#*:}" >/dev/null 2>&1 || ever[${entry%%:*}]=1 last_seen[${entry%%:*}]=$SECONDS
    done
    alive=" $NAT_INDEX " lowest=$NAT_INDEX
    for index in "${!last_seen[@]}"; do
      # Peers boot silent: one never heard from is dead only after NAT_BOOT_GRACE s.
      if [ "$index" != "$NAT_INDEX" ] && { [ $((SECONDS - last_seen[$index])) -lt "${NAT_TAKEOVER_AFTER:-6}" ] ||
        { [ -z "${ever[$index]:-}" ] && [ "$SECONDS" -lt "${NAT_BOOT_GRACE:-300}" ]; }; }; then
        alive+="$index "
        [ "$index" -ge "$lowest" ] || lowest=$index
      fi
    done
    if [ "$ok" = 1 ]; then
      [ "$healthy" = 1 ] || { silent 0; log "forwarding: answering the other NATs"; healthy=1 fresh=1; }
      [ "${#peer_of[@]}" -gt 0 ] || peer_interfaces || true
      [ "$SECONDS" -lt "$next" ] || fresh=1
      if [ "$fresh" = 1 ] || [ "$alive" != "$seen" ]; then
        reconcile "$fresh" && { fresh=0 seen=$alive next=$((SECONDS + interval)); released || release; } || true
      fi
    elif [ "$healthy" = 1 ] || [ "$fresh" = 1 ]; then
      silent 1
      log "not forwarding (forwarding, rules, route or egress): silent, taking nothing over"
      healthy=0 fresh=0
    fi
    sleep "${NAT_WATCH_INTERVAL:-2}"
  done
}

MODE="${1:-boot}"
silent 1
case "$MODE" in
  boot) boot ;;
  restore) restore ;;
  watchdog) watchdog ;;
  *) echo "usage: $0 [boot|restore|watchdog]" >&2; exit 2 ;;
esac
