"""A VPC emulated in Linux network namespaces, driven by moto, for running the NAT boot script for real.

    app hosts ──▶ vpc router (app route tables from moto) ──▶ NAT instance namespaces (ens5, ens6 = static ENI)
                  vpc router (public route table) ──▶ internet gateway (1:1 NAT from moto's addresses) ──▶ internet

What EC2 itself does is played by a "fabric" thread that follows moto: the static ENI's veth moves into the
namespace of the instance moto says it is attached to (configured as the OS would configure an attached interface),
the router follows the app route tables, the gateway maps each public address moto hands out to its private one.
The fabric reads moto's EC2 backend in-process, as EC2's data plane follows its own state rather than its public
API: four Describe calls per sync through boto3 and moto's HTTP server were most of this module's CPU time.

Every namespace is named with the `netns-<pid>-` prefix (`PREFIX`), so two runs never clash; traffic only flows
between them and loopback.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import ipaddress
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Optional
from urllib.parse import parse_qs

PREFIX = f"netns-{os.getpid()}-"  # this process's namespaces: two runs (or xdist workers) never share one
INTERNET, GATEWAY, ROUTER = f"{PREFIX}inet", f"{PREFIX}igw", f"{PREFIX}vpc"
INTERNET_HOST = "203.0.113.1"
GATEWAY_INTERNET_SIDE = "203.0.113.254"
API_PORT, TCP_PORT, UDP_PORT = 5000, 8080, 8081
IMDS_ADDRESS = "169.254.169.254"
CLONE_NEWNET = 0x40000000
VENV_BIN = Path(sys.executable).parent
TOOLS = ("ip", "sysctl", "nft", "iptables", "iptables-restore", "iptables-save", "ping")


def sh(*args: str, check: bool = True) -> str:
    result = subprocess.run(args, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def in_ns(ns: str, *args: str, check: bool = True) -> str:
    return sh("ip", "netns", "exec", ns, *args, check=check)


def missing_prerequisites() -> Optional[str]:
    """Why the namespace tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (ip netns): run `sudo make test-netns`"
    for tool in ("ip", "nft", "ping", "cc"):
        if shutil.which(tool) is None:
            return f"needs {tool}: apt-get install -y iproute2 nftables iptables iputils-ping gcc"
    return None


def _setns(ns: str) -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    with open(f"/run/netns/{ns}") as handle:
        if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")


def serve_in_ns(ns: Optional[str], make_server: Callable[[], Any]) -> Any:
    """Starts a server whose socket is bound inside `ns`, or the test's own (setns applies to the calling thread)."""
    ready: dict[str, Any] = {}
    event = threading.Event()

    def run() -> None:
        try:
            if ns is not None:
                _setns(ns)
            ready["server"] = make_server()
        except BaseException as error:  # reported to the caller below
            ready["error"] = error
        event.set()
        if "server" in ready:
            ready["server"].serve_forever(poll_interval=0.05)

    threading.Thread(target=run, daemon=True).start()
    event.wait(5)
    if "error" in ready:
        raise ready["error"]
    return ready["server"]


class _Imds(BaseHTTPRequestHandler):
    """IMDSv2 as far as the boot script reads it: a token, then metadata only with that token."""

    answers: ClassVar[dict[str, str]] = {}

    def do_PUT(self) -> None:
        self._reply(200, "stub-token" if self.path == "/latest/api/token" else None)

    def do_GET(self) -> None:
        if self.headers.get("X-aws-ec2-metadata-token") != "stub-token":
            self._reply(401, None)
            return
        self._reply(200, self.answers.get(self.path.removeprefix("/latest/meta-data/")))

    def _reply(self, status: int, body: Optional[str]) -> None:
        if body is None:
            status = 404 if status == 200 else status
        data = (body or "").encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


def imds_server(ns: str, answers: dict[str, str]) -> ThreadingHTTPServer:
    handler = type("Imds", (_Imds,), {"answers": answers})
    return serve_in_ns(ns, lambda: ThreadingHTTPServer((IMDS_ADDRESS, 80), handler))


@dataclass
class Instance:
    id: str
    ns: str
    private_ip: str
    mac: str
    root: Path
    imds: Optional[ThreadingHTTPServer] = None
    process: Optional[subprocess.Popen[str]] = None
    alive: bool = True


@dataclass
class Eni:
    id: str
    number: int
    private_ip: str
    mac: str
    where: str = ROUTER  # the namespace its veth end is in

    @property
    def parked(self) -> str:
        return f"eni{self.number}"

    @property
    def router_side(self) -> str:
        return f"vpc-e{self.number}"


@dataclass
class Vpc:
    """The emulated VPC; `ec2`/`autoscaling`/`logs` are boto3 clients of the same moto backend the scripts use, and
    `backend` is that EC2 backend itself, which the fabric reads."""

    tmp: Path
    cidr: str
    ec2: Any = None
    backend: Any = None
    autoscaling: Any = None
    logs: Any = None
    public_cidrs: list[str] = field(default_factory=list)
    app_cidrs: list[str] = field(default_factory=list)
    app_tables: list[str] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    public_addresses: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    route_history: list[tuple[float, str, str]] = field(default_factory=list)
    _booted: int = 0
    aws_socket: str = ""
    enis: dict[str, Eni] = field(default_factory=dict)
    instances: dict[str, Instance] = field(default_factory=dict)
    namespaces: list[str] = field(default_factory=list)
    servers: list[Any] = field(default_factory=list)
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _applied: dict[str, Any] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _changed: threading.Event = field(default_factory=threading.Event)

    # --- building ------------------------------------------------------------------------------------------

    def add_ns(self, name: str) -> str:
        if name in self.namespaces:
            return name
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        in_ns(name, "ip", "link", "set", "lo", "up")
        for key in ("all", "default"):
            in_ns(name, "sysctl", "-qw", f"net.ipv4.conf.{key}.rp_filter=0")
        return name

    def build(self) -> None:
        for name in (INTERNET, GATEWAY, ROUTER):
            self.add_ns(name)
        in_ns(GATEWAY, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        in_ns(ROUTER, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        _veth(INTERNET, "inet0", f"{INTERNET_HOST}/24", GATEWAY, "igw-inet", f"{GATEWAY_INTERNET_SIDE}/24")
        _veth(GATEWAY, "igw-vpc", "100.64.0.2/30", ROUTER, "vpc-igw", "100.64.0.1/30")
        in_ns(GATEWAY, "ip", "route", "add", self.cidr, "via", "100.64.0.1")
        # The public route table: everything not in the VPC goes to the internet gateway.
        in_ns(ROUTER, "ip", "route", "add", "default", "via", "100.64.0.2")
        in_ns(ROUTER, "ip", "rule", "add", "pref", "100", "to", self.cidr, "lookup", "main")
        for number, cidr in enumerate(self.app_cidrs, start=1):
            app = self.add_ns(f"{PREFIX}app{number}")
            gateway, host = _hosts(cidr, 1), _hosts(cidr, 10)
            prefix = cidr.split("/")[1]
            _veth(ROUTER, f"vpc-app{number}", f"{gateway}/{prefix}", app, "eth0", f"{host}/{prefix}")
            in_ns(app, "ip", "route", "add", "default", "via", gateway)
            in_ns(ROUTER, "ip", "rule", "add", "pref", str(200 + number), "from", cidr, "lookup", str(100 + number))
            in_ns(ROUTER, "ip", "route", "add", "blackhole", "default", "table", str(100 + number))

    def start_internet_services(self) -> None:
        script = Path(__file__).with_name("netns_internet.py")
        process = subprocess.Popen(
            ["ip", "netns", "exec", INTERNET, sys.executable, str(script), INTERNET_HOST, str(TCP_PORT), str(UDP_PORT)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.processes.append(process)
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        # Which addresses ICMP echo requests reach the internet host from (it answers them itself).
        nft_ruleset(
            INTERNET,
            "table ip seen {\n set icmp_sources { type ipv4_addr; flags dynamic; }\n"
            " chain input { type filter hook input priority 0; policy accept;\n"
            "  icmp type echo-request add @icmp_sources { ip saddr }\n }\n}\n",
        )

    def icmp_sources(self) -> set[str]:
        data = json.loads(in_ns(INTERNET, "nft", "-j", "list", "set", "ip", "seen", "icmp_sources"))
        found = [item["set"].get("elem", []) for item in data["nftables"] if "set" in item]
        return {element if isinstance(element, str) else element["elem"]["val"] for elems in found for element in elems}

    def add_static_eni(self, eni: dict[str, Any]) -> Eni:
        number = len(self.enis) + 1
        record = Eni(eni["NetworkInterfaceId"], number, eni["PrivateIpAddress"], eni["MacAddress"])
        self.enis[record.id] = record
        self._eni_link(record)
        return record

    def _eni_link(self, eni: Eni) -> None:
        gateway = _hosts(self._public_cidr_of(eni.private_ip), 1)
        sh("ip", "-n", ROUTER, "link", "add", eni.router_side, "type", "veth", "peer", "name", eni.parked)
        in_ns(ROUTER, "ip", "link", "set", eni.parked, "address", eni.mac)
        in_ns(ROUTER, "ip", "addr", "add", f"{gateway}/32", "dev", eni.router_side)
        in_ns(ROUTER, "ip", "link", "set", eni.router_side, "up")
        in_ns(ROUTER, "ip", "route", "replace", f"{eni.private_ip}/32", "dev", eni.router_side)
        eni.where = ROUTER

    def _public_cidr_of(self, address: str) -> str:
        return next(c for c in self.public_cidrs if ipaddress.ip_address(address) in ipaddress.ip_network(c))

    def boot_instance(self, instance_id: str, *, default_route: bool = True) -> Instance:
        """The OS of a freshly launched instance: its namespace, primary interface (DHCP) and IMDS."""
        described = self.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        primary = next(n for n in described["NetworkInterfaces"] if n["Attachment"]["DeviceIndex"] == 0)
        with self.lock:
            self._booted += 1
            number = self._booted
        ns = self.add_ns(f"{PREFIX}i{number}")
        cidr = self._public_cidr_of(primary["PrivateIpAddress"])
        gateway, prefix = _hosts(cidr, 1), cidr.split("/")[1]
        _veth(ROUTER, f"vpc-i{number}", f"{gateway}/32", ns, "ens5", f"{primary['PrivateIpAddress']}/{prefix}")
        in_ns(ns, "ip", "link", "set", "ens5", "address", primary["MacAddress"])
        in_ns(ROUTER, "ip", "route", "replace", f"{primary['PrivateIpAddress']}/32", "dev", f"vpc-i{number}")
        if default_route:
            in_ns(ns, "ip", "route", "add", "default", "via", gateway)
        else:  # the API is reachable, the default route has not come up
            in_ns(ns, "ip", "route", "add", f"{INTERNET_HOST}/32", "via", gateway)
        in_ns(ns, "ip", "addr", "add", f"{IMDS_ADDRESS}/32", "dev", "lo")
        mac = primary["MacAddress"]
        answers = {
            "instance-id": instance_id,
            "placement/region": "us-east-1",
            "mac": mac,
            f"network/interfaces/macs/{mac}/interface-id": primary["NetworkInterfaceId"],
        }
        root = self.tmp / instance_id
        root.mkdir()
        instance = Instance(instance_id, ns, primary["PrivateIpAddress"], mac, root, imds_server(ns, answers))
        with self.lock:
            self.instances[instance_id] = instance
        return instance

    def start_unit(self, instance: Instance, unit: str, env: Optional[dict] = None) -> subprocess.Popen[str]:
        """What systemd would do with a unit the boot script enabled: run its ExecStart, in the background."""
        text = (instance.root / "etc/systemd/system" / unit).read_text()
        (command,) = [line.split("=", 1)[1] for line in text.splitlines() if line.startswith("ExecStart=")]
        program, *args = command.split()
        output = (instance.root / f"{unit}.out").open("w")
        process = subprocess.Popen(
            ["ip", "netns", "exec", instance.ns, "bash", f"{instance.root}{program}", *args],
            env=self.script_env(instance, None, env),
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.processes.append(process)
        return process

    def run_script(
        self, instance: Instance, script: str, *args: str, path: Optional[str] = None, env: Optional[dict] = None
    ) -> subprocess.Popen[str]:
        """Runs the user data as cloud-init would, in the instance's namespace, without waiting."""
        script_file = instance.root / "user-data"
        if not script_file.exists():
            script_file.write_text(script)
        command = ["ip", "netns", "exec", instance.ns, "bash", str(script_file), *args]
        process = subprocess.Popen(
            command,
            env=self.script_env(instance, path, env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        instance.process = process
        self.processes.append(process)
        return process

    def script_env(self, instance: Instance, path: Optional[str], extra: Optional[dict]) -> dict[str, str]:
        return {
            "PATH": path or self.tool_path(TOOLS),
            "HOME": str(instance.root),
            "TINYSTACK_ROOT": str(instance.root),
            "AWS_ENDPOINT_URL": f"http://{INTERNET_HOST}:{API_PORT}",
            "TINYSTACK_TEST_AWS_SERVER": self.aws_socket,
            # Instance-profile credentials: moto accepts any.
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "NAT_ATTACH_TIMEOUT": os.environ.get("NAT_TEST_ATTACH_TIMEOUT", "10"),
            "NAT_WAIT_TIMEOUT": os.environ.get("NAT_TEST_WAIT_TIMEOUT", "3"),
            "NAT_POLL_INTERVAL": os.environ.get("NAT_TEST_POLL_INTERVAL", "0.05"),
            **(extra or {}),
        }

    def start_aws_cli(self) -> Callable[[], None]:
        """Starts the pre-warmed AWS CLI (`netns_aws.py`) the scripts' `aws` hands its calls to; returns its wait."""
        self.aws_socket = str(self.tmp / "aws.sock")
        server = Path(__file__).with_name("netns_aws.py")
        # Nothing in the server itself may reach an instance metadata service: only the instances' calls go anywhere.
        env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true"}
        command = [sys.executable, str(server), self.aws_socket]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        self.processes.append(process)
        sh("cc", "-O2", "-o", str(self.tmp / "aws"), str(Path(__file__).with_name("netns_aws_shim.c")))

        def ready() -> None:
            assert process.stdout is not None and process.stdout.readline().strip() == "ready", "AWS CLI server"

        return ready

    def tool_path(self, tools: tuple[str, ...]) -> str:
        """PATH: stubs for systemctl, dnf and poweroff (recorded), the AWS CLI's shim (records each call), the given
        system tools, the venv (python3)."""
        name = "tools-" + "-".join(sorted(tools))
        directory = self.tmp / name
        if not directory.exists():
            directory.mkdir()
            for tool in tools:
                found = shutil.which(tool, path="/usr/sbin:/usr/bin")
                if found:
                    (directory / tool).symlink_to(found)
            _stub(directory / "systemctl", 'echo "systemctl $*" >> "$TINYSTACK_ROOT/systemctl.calls"')
            _stub(directory / "dnf", 'echo "dnf (stub): no package repository in the test" >&2; exit 1')
            _stub(directory / "poweroff", 'echo poweroff >> "$TINYSTACK_ROOT/poweroff.calls"')
            (directory / "aws").symlink_to(self.tmp / "aws")  # netns_aws_shim.c, compiled by start_aws_cli
        return f"{directory}:{VENV_BIN}:/usr/bin"

    # --- the fabric ------------------------------------------------------------------------------------------

    def start_fabric(self, interval: float) -> None:
        """Follows moto: right after each API call that changes something (`follow_changes`), else every `interval`."""

        def loop() -> None:
            while not self._stop.is_set():
                self._changed.wait(interval)
                self._changed.clear()
                try:
                    self.sync()
                except Exception as error:  # shown by the test that fails because of it
                    self.errors.append(repr(error))

        threading.Thread(target=loop, daemon=True).start()

    def follow_changes(self, app: Callable[..., Any]) -> Callable[..., Any]:
        """moto's WSGI app, waking the fabric once a request that is not a Describe/Get/List has been served."""

        def changes_followed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            target = environ.get("HTTP_X_AMZ_TARGET", "")  # JSON protocol (Logs); EC2 and Auto Scaling: Action=
            action = target.rsplit(".", 1)[-1] if target else parse_qs(body.decode()).get("Action", [""])[0]
            response = list(app(environ, start_response))
            if not action.startswith(("Describe", "Get", "List")):
                self._changed.set()
            return response

        return changes_followed

    def sync(self) -> None:
        with self.lock:
            self._sync_enis()
            self._sync_routes()
            self._sync_gateway()

    def _sync_enis(self) -> None:
        for record in self.enis.values():
            attached = self.backend.get_network_interface(record.id).instance
            holder = self.instances.get(attached.id if attached is not None else "")
            target = holder.ns if holder is not None and holder.alive else ROUTER
            if record.where != target:
                self._move(record, target)

    def _move(self, eni: Eni, target: str) -> None:
        source = eni.where
        name = eni.parked if source == ROUTER else "ens6"
        alive = source == ROUTER or self._ns_alive(source)
        if not alive or not _link_exists(source, name):
            with contextlib.suppress(RuntimeError):
                in_ns(ROUTER, "ip", "link", "del", eni.router_side)
            self._eni_link(eni)
            source, name = ROUTER, eni.parked
        in_ns(source, "ip", "link", "set", name, "down")
        in_ns(source, "ip", "link", "set", name, "name", eni.parked)
        in_ns(source, "ip", "link", "set", eni.parked, "netns", target)
        eni.where = target
        if target != ROUTER:
            # What the OS does with an attached interface (amazon-ec2-net-utils): name it, bring it up, address it.
            prefix = self._public_cidr_of(eni.private_ip).split("/")[1]
            # Up before the address (as DHCP does it): an address on a down link has no subnet route yet.
            in_ns(target, "ip", "link", "set", eni.parked, "name", "ens6")
            in_ns(target, "ip", "link", "set", "ens6", "up")
            in_ns(target, "ip", "addr", "add", f"{eni.private_ip}/{prefix}", "dev", "ens6")

    def _ns_alive(self, ns: str) -> bool:
        return any(i.ns == ns and i.alive for i in self.instances.values())

    def default_route_target(self, table_id: str) -> str:
        """The interface of a table's default route as moto holds it: read in-process, for the tests' polling (each
        poll through the API cost a Describe call, 10 a second during a takeover); they assert through the API."""
        routes = self.backend.get_route_table(table_id).routes
        default = next((r for r in routes if r.destination_cidr_block == "0.0.0.0/0"), None)
        return default.interface.id if default is not None and default.interface else ""

    def _sync_routes(self) -> None:
        for number, table_id in enumerate(self.app_tables, start=1):
            eni = self.enis.get(self.default_route_target(table_id))
            wanted = (
                ("default", "via", eni.private_ip, "dev", eni.router_side, "onlink")
                if eni
                else ("blackhole", "default")
            )
            key = f"route-{number}"
            if self._applied.get(key) != wanted:
                in_ns(ROUTER, "ip", "route", "replace", *wanted, "table", str(100 + number))
                self._applied[key] = wanted
                self.route_history.append((time.monotonic(), table_id, eni.id if eni else "blackhole"))

    def public(self, moto_address: str) -> str:
        """moto hands out public addresses in 127/8, which Linux never routes off loopback: each gets a stand-in."""
        if moto_address not in self.public_addresses:
            self.public_addresses[moto_address] = f"198.51.100.{len(self.public_addresses) + 10}"
        return self.public_addresses[moto_address]

    def _sync_gateway(self) -> None:
        mapping: dict[str, str] = {}
        for instance in self.backend.all_instances():
            if instance.state == "running" and instance.public_ip:
                mapping[instance.private_ip] = self.public(instance.public_ip)
        for address in list(self.backend.addresses):
            if address.private_ip_address:
                mapping[address.private_ip_address] = self.public(address.public_ip)
        if self._applied.get("gateway") == mapping:
            return
        for public in set(mapping.values()) - set((self._applied.get("gateway") or {}).values()):
            in_ns(INTERNET, "ip", "route", "replace", f"{public}/32", "via", GATEWAY_INTERNET_SIDE)
        snat = ", ".join(f"{private} : {public}" for private, public in sorted(mapping.items()))
        dnat = ", ".join(f"{public} : {private}" for private, public in sorted(mapping.items()))
        mapped = ", ".join(sorted(mapping))
        elements = bool(mapping)
        nft_ruleset(
            GATEWAY,
            "table ip igw\ndelete table ip igw\n"
            "table ip igw {\n"
            + (f"  map out {{ type ipv4_addr : ipv4_addr; elements = {{ {snat} }} }}\n" if elements else "")
            + (f"  map back {{ type ipv4_addr : ipv4_addr; elements = {{ {dnat} }} }}\n" if elements else "")
            + (f"  set mapped {{ type ipv4_addr; elements = {{ {mapped} }} }}\n" if elements else "")
            + "  chain forward { type filter hook forward priority 0; policy drop;\n"
            "    ct state established,related accept\n"
            + ('    iifname "igw-vpc" oifname "igw-inet" ip saddr @mapped accept\n' if elements else "")
            + "  }\n"
            + (
                "  chain post { type nat hook postrouting priority 100;\n"
                '    oifname "igw-inet" snat to ip saddr map @out; }\n'
                "  chain pre { type nat hook prerouting priority -100;\n"
                '    iifname "igw-inet" dnat to ip daddr map @back; }\n'
                if elements
                else ""
            )
            + "}\n",
        )
        self._applied["gateway"] = mapping

    # --- tearing down ------------------------------------------------------------------------------------------

    def kill(self, instance: Instance) -> None:
        """The instance is gone: every process in its namespace, its links down, its IMDS."""
        with self.lock:
            instance.alive = False
            self._changed.set()  # its interface goes back to the VPC (detached from a dead instance)
            for pid in sh("ip", "netns", "pids", instance.ns, check=False).split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), 9)
            for link in ("ens5", "ens6"):
                in_ns(instance.ns, "ip", "link", "set", link, "down", check=False)
            if instance.imds is not None:
                instance.imds.shutdown()
                instance.imds.server_close()
                instance.imds = None

    def close(self) -> None:
        self._stop.set()
        self._changed.set()
        with self.lock:
            for process in self.processes:
                if process.poll() is None:
                    process.kill()
                with contextlib.suppress(Exception):
                    process.wait(timeout=2)
            for instance in self.instances.values():
                if instance.imds is not None:
                    instance.imds.shutdown()
                    instance.imds.server_close()
            for server in self.servers:
                server.shutdown()
                server.server_close()
            for cleanup in self.cleanups:
                with contextlib.suppress(Exception):
                    cleanup()
            for ns in reversed(self.namespaces):
                for pid in sh("ip", "netns", "pids", ns, check=False).split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), 9)
                sh("ip", "netns", "del", ns, check=False)


def _hosts(cidr: str, index: int) -> str:
    return str(ipaddress.ip_network(cidr).network_address + index)


def _veth(ns_a: str, name_a: str, address_a: str, ns_b: str, name_b: str, address_b: str) -> None:
    sh("ip", "-n", ns_a, "link", "add", name_a, "type", "veth", "peer", "name", name_b, "netns", ns_b)
    in_ns(ns_a, "ip", "addr", "add", address_a, "dev", name_a)
    in_ns(ns_b, "ip", "addr", "add", address_b, "dev", name_b)
    in_ns(ns_a, "ip", "link", "set", name_a, "up")
    in_ns(ns_b, "ip", "link", "set", name_b, "up")


def _link_exists(ns: str, name: str) -> bool:
    return subprocess.run(["ip", "-n", ns, "link", "show", name], capture_output=True).returncode == 0


def nft_ruleset(ns: str, ruleset: str) -> None:
    result = subprocess.run(
        ["ip", "netns", "exec", ns, "nft", "-f", "-"], input=ruleset, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"nft in {ns}: {result.stderr}\n{ruleset}")


def _stub(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/bash\n{body}\n")
    path.chmod(0o755)


@contextlib.contextmanager
def temporary_directory() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="nat-netns-") as name:
        yield Path(name)


def _probe_command(app_ns: str, kind: str, port: int, seconds: float) -> list[str]:
    """netns_probe.py run in an app host's namespace against the internet host. It needs the standard library only:
    `-I -S` skips the venv's site packages, a quarter of a probe's start-up."""
    script = str(Path(__file__).with_name("netns_probe.py"))
    command = [sys.executable, "-I", "-S", script, kind, INTERNET_HOST, str(port), str(seconds)]
    return ["ip", "netns", "exec", app_ns, *command]


def probe(app_ns: str, kind: str, timeout: float = 1.0) -> Optional[str]:
    """One TCP or UDP exchange (the address the internet host saw) or ICMP echo ("ok") from an app host."""
    result = subprocess.run(
        _probe_command(app_ns, kind, TCP_PORT if kind == "tcp" else UDP_PORT, timeout),
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() or None


def start_prober(app_ns: str, interval: float) -> subprocess.Popen[str]:
    """Probes TCP every `interval` seconds; prints `<monotonic time> <seen address or ->` per probe."""
    return subprocess.Popen(
        _probe_command(app_ns, "loop", TCP_PORT, interval),
        stdout=subprocess.PIPE,
        text=True,
    )


def longest_gap(lines: list[str], address: str) -> tuple[float, int]:
    """The longest time between two probes that reached the internet from `address`, and how many probes ran."""
    times = [float(stamp) for stamp, seen in (line.split() for line in lines if line.strip()) if seen == address]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    return (max(gaps) if gaps else float("inf")), len(lines)


def wait_until(condition: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
