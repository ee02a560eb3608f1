"""Typed inputs of the TinyStack component and their validation.

The TypedDicts are the public, multi-language surface (their field docstrings become the schema's descriptions).
`validate` turns one of them, or a plain dict with the same keys, into frozen `Settings` with every default
resolved, or raises `TinyStackArgsError` naming the field, the value and what is accepted. Nothing here touches
Pulumi resources, so every rule is tested without the engine.
"""

import base64
import difflib
import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional, TypedDict

import pulumi

from .instance_types import container_capacity


class FrontEnd(str, Enum):
    """How the internet reaches the containers."""

    ALB = "alb"
    """An internet-facing Application Load Balancer in the public subnets."""
    API_GATEWAY = "api-gateway"
    """An HTTP API (API Gateway v2) reaching the containers through a VPC link."""


class DatabaseEngine(str, Enum):
    """The RDS database engine."""

    POSTGRES = "postgres"
    """PostgreSQL, port 5432."""
    MYSQL = "mysql"
    """MySQL, port 3306."""


class DatabaseArgs(TypedDict, total=False):
    """An optional RDS database in the app subnets, reachable only from the containers and the bastion."""

    engine: DatabaseEngine
    """`postgres` (default) or `mysql`."""
    engine_version: str
    """Engine version. Default: 16 for PostgreSQL, 8.4 for MySQL."""
    instance_class: str
    """RDS instance class. Default: db.t4g.micro."""
    allocated_storage: int
    """Initial gp3 storage in GiB, 20 to 65536. Default: 20."""
    max_allocated_storage: int
    """Storage autoscaling ceiling in GiB, 10% or more above allocated storage. Default: max(100, 2 x allocated)."""
    db_name: str
    """Name of the database created on the instance. Default: app."""
    username: str
    """Master user name; its password is generated and kept in Secrets Manager by RDS. Default: app."""
    multi_az: bool
    """Keep a synchronous standby in another Availability Zone. Default: false."""
    deletion_protection: bool
    """Refuse deletion of the instance until this is turned off. Default: true."""
    backup_retention_days: int
    """Days of automated backups, 1 to 35. Default: 7."""


class BastionArgs(TypedDict, total=False):
    """An optional SSH bastion in a public subnet, from which the team can reach the database."""

    public_key: str
    """OpenSSH public key (ssh-ed25519, ssh-rsa or ecdsa-sha2-*) allowed to log in as ec2-user. Required."""
    allowed_cidrs: list[str]
    """CIDRs allowed to reach port 22, for example 203.0.113.7/32. Required; 0.0.0.0/0 and ::/0 are refused."""
    instance_type: str
    """EC2 instance type of the bastion. Default: t4g.nano."""


class TinyStackArgs(TypedDict, total=False):
    """Inputs of a TinyStack. Every key is optional."""

    front_end: FrontEnd
    """`alb` (default): an Application Load Balancer. `api-gateway`: an HTTP API with a VPC link."""
    nat: bool
    """True (default): app subnets egress through a NAT instance. False: isolated app subnets and VPC endpoints."""
    container_port: int
    """Port the container listens on, 1 to 65535; it is also the static host port. Default: 80."""
    container_image: pulumi.Input[str]
    """Image to run. Default: public.ecr.aws/nginx/nginx:stable. Must be a private ECR image when nat is false."""
    app_path: str
    """Folder with a Dockerfile to build and push to a new private ECR repository, instead of a container image."""
    container_cpu: int
    """CPU units reserved for the container (1024 = one vCPU). Default: 512."""
    container_memory: int
    """Memory in MiB for the container (hard limit). Default: 512."""
    container_environment: Mapping[str, pulumi.Input[str]]
    """Environment variables of the container. Names starting with DB_ are reserved for the database."""
    container_secrets: Mapping[str, pulumi.Input[str]]
    """Secret environment variables, kept in Secrets Manager and injected by ECS; never in the task definition."""
    vpc_cidr: str
    """IPv4 CIDR of the VPC, prefix /16 to /24. Default: 10.0.0.0/16."""
    availability_zones: list[str]
    """Two or three distinct Availability Zones. Default: the first three available zones of the region."""
    nat_instance_type: str
    """EC2 instance type of the NAT instance. Default: t4g.nano."""
    nat_high_availability: bool
    """With nat: one NAT per Availability Zone, each taking over a failed one's AZ in seconds. Default: false."""
    instance_type: str
    """EC2 instance type of the ECS container instances. Default: t3.small."""
    instance_count: int
    """Number of container instances and tasks, at least 1. Default: 3 (one per Availability Zone)."""
    max_count: int
    """Upper bound for tasks and instances when scaling on CPU, at least the instance count. Default: twice that."""
    certificate_arn: pulumi.Input[str]
    """ACM certificate ARN. With it the ALB serves HTTPS on 443 and redirects HTTP to it. ALB only."""
    health_check_path: str
    """HTTP path the load balancer checks on each container. Default: /."""
    database: DatabaseArgs
    """An optional RDS database. Off unless given."""
    bastion: BastionArgs
    """An optional SSH bastion host. Off unless given."""
    flow_logs: bool
    """Send rejected VPC traffic to CloudWatch Logs. Default: true."""
    tags: Mapping[str, str]
    """Tags applied to every taggable resource, next to a Name tag."""


class TinyStackArgsError(ValueError):
    """An argument of TinyStack is invalid. The message names the field, the value and what is accepted."""

    def __init__(self, field: str, value: Any, accepted: str, config_key: Optional[str] = None) -> None:
        self.field = field
        self.value = value
        self.accepted = accepted
        self.config_key = config_key
        where = f"{field} (config key tinystack:{config_key})" if config_key else field
        super().__init__(f"invalid {where}: got {value!r}; {accepted}")

    def with_config_key(self, config_key: str) -> "TinyStackArgsError":
        return TinyStackArgsError(self.field, self.value, self.accepted, config_key)


DEFAULT_IMAGE = "public.ecr.aws/nginx/nginx:stable"
PRIVATE_ECR_IMAGE = re.compile(
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9][a-z0-9._/-]*(:[\w.-]+|@sha256:[0-9a-f]{64})?$"
)
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
DB_INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9-]+\.[a-z0-9]+$")
AVAILABILITY_ZONE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+[a-z]$")
CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DB_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
SSH_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521")
# Majors RDS offers: PostgreSQL 13 and later; MySQL 8.0 and 8.4 (8.0 has left standard support, 8.4 has not).
ENGINE_VERSIONS = {
    DatabaseEngine.POSTGRES: (
        "16",
        re.compile(r"^(1[3-9])(\.\d+)?$"),
        "a PostgreSQL version from 13 to 19, such as 16 or 16.4",
    ),
    DatabaseEngine.MYSQL: (
        "8.4",
        re.compile(r"^8\.[04](\.\d+)?$"),
        "a MySQL version 8.0 or 8.4, such as 8.4 or 8.0.39",
    ),
}
RESERVED_DB_USERNAMES = frozenset({"admin", "root", "postgres", "rdsadmin", "rdsrepladmin", "mysql", "user", "public"})
DB_ENVIRONMENT_PREFIX = "DB_"
MIN_SSH_PREFIX_V4 = 8
MIN_SSH_PREFIX_V6 = 32


@dataclass(frozen=True)
class DatabaseSettings:
    engine: DatabaseEngine
    engine_version: str
    instance_class: str
    allocated_storage: int
    max_allocated_storage: int
    db_name: str
    username: str
    multi_az: bool
    deletion_protection: bool
    backup_retention_days: int

    @property
    def port(self) -> int:
        return 5432 if self.engine is DatabaseEngine.POSTGRES else 3306


@dataclass(frozen=True)
class BastionSettings:
    public_key: str
    allowed_cidrs: tuple[str, ...]
    instance_type: str


@dataclass(frozen=True)
class Settings:
    """TinyStackArgs after validation, with every default resolved."""

    front_end: FrontEnd
    nat: bool
    container_port: int
    container_image: Optional[pulumi.Input[str]]
    app_path: Optional[str]
    container_cpu: int
    container_memory: int
    container_environment: Mapping[str, pulumi.Input[str]]
    container_secrets: Mapping[str, pulumi.Input[str]]
    vpc_cidr: str
    availability_zones: Optional[tuple[str, ...]]
    nat_instance_type: str
    nat_high_availability: bool
    instance_type: str
    instance_count: int
    max_count: int
    certificate_arn: Optional[pulumi.Input[str]]
    health_check_path: str
    database: Optional[DatabaseSettings]
    bastion: Optional[BastionSettings]
    flow_logs: bool
    tags: Mapping[str, str] = field(default_factory=dict)


# --- small typed readers: each returns the value or raises naming the field ---------------------------------


def _fail(path: str, value: Any, accepted: str) -> TinyStackArgsError:
    return TinyStackArgsError(path, value, accepted)


def unknown_name(name: str, known: Sequence[str], prefix: str, noun: str) -> str:
    """What to say about a name that is not one of `known`: the closest one, then the whole list."""
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"did you mean {prefix}{close[0]}? " if close else ""
    return f"{hint}known {noun}: {', '.join(known)}"


def _reject_unknown_keys(values: Mapping[str, Any], typed: type, prefix: str) -> None:
    known = list(typed.__annotations__)
    for key in values:
        if key not in known:
            raise _fail(prefix + str(key), values[key], unknown_name(str(key), known, prefix, "fields"))


def _bool(values: Mapping[str, Any], key: str, default: bool, prefix: str = "") -> bool:
    value = values.get(key, default)
    if not isinstance(value, bool):
        raise _fail(prefix + key, value, "expected true or false")
    return value


def _int(
    values: Mapping[str, Any],
    key: str,
    default: int,
    low: int,
    high: int,
    prefix: str = "",
    unit: str = "a whole number",
) -> int:
    value = _whole(values.get(key, default))
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(prefix + key, value, f"expected {unit} from {low} to {high}")
    return value


def _whole(value: Any) -> Any:
    """Whole numbers as int. The component provider's construct delivers every number as a float."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _str(
    values: Mapping[str, Any], key: str, default: str, pattern: re.Pattern[str], accepted: str, prefix: str = ""
) -> str:
    value = values.get(key, default)
    if not isinstance(value, str) or not pattern.match(value):
        raise _fail(prefix + key, value, f"expected {accepted}")
    return value


def _enum(values: Mapping[str, Any], key: str, enum: type[Enum], default: Enum, prefix: str = "") -> Any:
    value = values.get(key, default)
    try:
        return enum(value)
    except ValueError:
        accepted = ", ".join(repr(member.value) for member in enum)  # type: ignore[attr-defined]
        raise _fail(prefix + key, value, f"expected one of {accepted}") from None


def _mapping(values: Mapping[str, Any], key: str, prefix: str = "") -> Mapping[str, Any]:
    value = values.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(prefix + key, value, "expected an object of names to values")
    return value


def _is_output(value: Any) -> bool:
    return isinstance(value, pulumi.Output)


# --- field rules ----------------------------------------------------------------------------------------------


def _vpc_cidr(values: Mapping[str, Any]) -> str:
    value = values.get("vpc_cidr", "10.0.0.0/16")
    accepted = "expected an IPv4 network such as 10.0.0.0/16, with a prefix from /16 to /24"
    try:
        network = ipaddress.IPv4Network(value, strict=True) if isinstance(value, str) else None
    except ValueError:
        network = None
    if network is None or not 16 <= network.prefixlen <= 24:
        raise _fail("vpc_cidr", value, accepted)
    return str(network)


def _availability_zones(values: Mapping[str, Any]) -> Optional[tuple[str, ...]]:
    value = values.get("availability_zones")
    if value is None:
        return None
    accepted = "expected a list of 2 or 3 distinct Availability Zone names of one region, such as us-east-1a"
    if not isinstance(value, (list, tuple)) or not all(isinstance(zone, str) for zone in value):
        raise _fail("availability_zones", value, accepted)
    if not 2 <= len(value) <= 3 or len(set(value)) != len(value):
        raise _fail("availability_zones", value, accepted)
    if not all(AVAILABILITY_ZONE.match(zone) for zone in value):
        raise _fail("availability_zones", value, accepted)
    if len({zone[:-1] for zone in value}) != 1:
        raise _fail("availability_zones", value, accepted)
    return tuple(value)


def _container_image(values: Mapping[str, Any], nat: bool, app_path: Optional[str]) -> Optional[pulumi.Input[str]]:
    value = values.get("container_image")
    if app_path is not None:
        if value is not None:
            raise _fail("container_image", value, "give either container_image or app_path, not both")
        return None
    if value is None:
        value = DEFAULT_IMAGE if nat else None
    if value is None:
        raise _fail(
            "container_image",
            value,
            "with nat false the app subnets are isolated and cannot reach public registries: give a private ECR "
            "image (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>) or app_path",
        )
    if _is_output(value):
        return value
    if not isinstance(value, str) or not value.strip():
        raise _fail("container_image", value, "expected an image reference such as repository:tag")
    if not nat and not PRIVATE_ECR_IMAGE.match(value):
        raise _fail(
            "container_image",
            value,
            "with nat false the app subnets are isolated and cannot reach public registries: expected a private "
            "ECR image (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>), or use app_path",
        )
    return value


def _app_path(values: Mapping[str, Any]) -> Optional[str]:
    value = values.get("app_path")
    if value is None:
        return None
    if not isinstance(value, str) or not os.path.isfile(os.path.join(value, "Dockerfile")):
        raise _fail("app_path", value, "expected a folder that contains a Dockerfile")
    return value


def _environment(values: Mapping[str, Any], key: str, has_database: bool) -> dict[str, Any]:
    environment = _mapping(values, key)
    for name, value in environment.items():
        path = f"{key}.{name}"
        if not isinstance(name, str) or not ENV_NAME.match(name):
            raise _fail(path, name, "expected a variable name of letters, digits and _, not starting with a digit")
        if has_database and name.startswith(DB_ENVIRONMENT_PREFIX):
            raise _fail(path, value, "names starting with DB_ are set by TinyStack from the database")
        if not (isinstance(value, str) or _is_output(value)):
            raise _fail(path, value, "expected a string value")
    return dict(environment)


def _container_environments(values: Mapping[str, Any], has_database: bool) -> tuple[dict, dict]:
    plain = _environment(values, "container_environment", has_database)
    secret = _environment(values, "container_secrets", has_database)
    both = sorted(set(plain) & set(secret))
    if both:
        raise _fail(f"container_secrets.{both[0]}", both[0], "a name is either in container_environment or here")
    return plain, secret


def _container_size(values: Mapping[str, Any], instance_type: str) -> tuple[int, int]:
    capacity = container_capacity(instance_type)
    max_cpu, max_memory = capacity if capacity else (192 * 1024, 768 * 1024)
    fits = f" (to fit a {instance_type} instance)" if capacity else ""
    cpu = _int(values, "container_cpu", min(512, max_cpu), 128, max_cpu, unit=f"CPU units{fits}")
    memory = _int(values, "container_memory", min(512, max_memory), 64, max_memory, unit=f"MiB{fits}")
    return cpu, memory


def _certificate_arn(values: Mapping[str, Any], front_end: FrontEnd) -> Optional[pulumi.Input[str]]:
    value = values.get("certificate_arn")
    if value is None:
        return None
    if front_end is not FrontEnd.ALB:
        raise _fail(
            "certificate_arn", value, "a certificate applies to the ALB front end only; remove it or use front_end alb"
        )
    if not _is_output(value) and not (isinstance(value, str) and CERTIFICATE_ARN.match(value)):
        raise _fail(
            "certificate_arn", value, "expected an ACM certificate ARN, arn:aws:acm:<region>:<account>:certificate/<id>"
        )
    return value


def _tags(values: Mapping[str, Any]) -> Mapping[str, str]:
    tags = _mapping(values, "tags")
    for key, value in tags.items():
        if key == "Name" or not isinstance(key, str) or key.startswith("aws:") or not 1 <= len(key) <= 128:
            raise _fail(
                f"tags.{key}", key, "expected a tag key of 1 to 128 characters, not Name (set per resource) nor aws:*"
            )
        if not isinstance(value, str) or len(value) > 256:
            raise _fail(f"tags.{key}", value, "expected a string of at most 256 characters")
    return dict(tags)


def _database(values: Mapping[str, Any]) -> Optional[DatabaseSettings]:
    raw = values.get("database")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise _fail("database", raw, "expected an object with database fields (engine, instance_class, ...)")
    p = "database."
    _reject_unknown_keys(raw, DatabaseArgs, p)
    engine = _enum(raw, "engine", DatabaseEngine, DatabaseEngine.POSTGRES, p)
    default_version, version_rule, accepted_versions = ENGINE_VERSIONS[engine]
    engine_version = _str(raw, "engine_version", default_version, version_rule, accepted_versions, p)
    allocated = _int(raw, "allocated_storage", 20, 20, 65536, p)
    # RDS refuses an autoscaling ceiling less than 10% above the allocated storage.
    least = -(-allocated * 11 // 10)
    maximum = _int(raw, "max_allocated_storage", min(max(100, allocated * 2), 65536), least, 65536, p)
    name_rule = "a name of letters, digits and _, starting with a letter, at most 63 characters"
    db_name = _str(raw, "db_name", "app", DB_IDENTIFIER, name_rule, p)
    if len(db_name) > 63:
        raise _fail(p + "db_name", db_name, f"expected {name_rule}")
    username = _str(raw, "username", "app", DB_IDENTIFIER, "a name of letters, digits and _, starting with a letter", p)
    if username.lower() in RESERVED_DB_USERNAMES or len(username) > 16:
        raise _fail(
            p + "username",
            username,
            f"expected at most 16 characters and none of {', '.join(sorted(RESERVED_DB_USERNAMES))}",
        )
    return DatabaseSettings(
        engine=engine,
        engine_version=engine_version,
        instance_class=_str(
            raw, "instance_class", "db.t4g.micro", DB_INSTANCE_CLASS, "an RDS class such as db.t4g.micro", p
        ),
        allocated_storage=allocated,
        max_allocated_storage=maximum,
        db_name=db_name,
        username=username,
        multi_az=_bool(raw, "multi_az", False, p),
        deletion_protection=_bool(raw, "deletion_protection", True, p),
        backup_retention_days=_int(raw, "backup_retention_days", 7, 1, 35, p),
    )


def _public_key(raw: Mapping[str, Any]) -> str:
    value = raw.get("public_key")
    accepted = f"expected an OpenSSH public key line starting with one of {', '.join(SSH_KEY_TYPES)}"
    parts = value.split() if isinstance(value, str) else []
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES or not _key_blob_matches(parts[0], parts[1]):
        raise _fail("bastion.public_key", value, accepted)
    return " ".join(parts)


def _key_blob_matches(key_type: str, blob: str) -> bool:
    """The blob is the SSH wire format of a whole key of that type, not just a prefix (EC2 imports nothing less)."""
    try:
        fields = _ssh_fields(base64.b64decode(blob, validate=True))
    except ValueError:
        return False
    if not fields or fields[0] != key_type.encode():
        return False
    if key_type == "ssh-ed25519":
        return len(fields) == 2 and len(fields[1]) == 32
    if key_type == "ssh-rsa":
        return len(fields) == 3 and len(fields[2].lstrip(b"\0")) * 8 >= 2048
    return len(fields) == 3 and fields[1] == key_type.rsplit("-", 1)[-1].encode()


def _ssh_fields(data: bytes) -> list[bytes]:
    """Length-prefixed strings, as RFC 4253 lays out public keys; raises ValueError when they do not add up."""
    fields = []
    while data:
        length = int.from_bytes(data[:4], "big")
        if len(data) < 4 + length:
            raise ValueError("truncated key")
        fields.append(data[4 : 4 + length])
        data = data[4 + length :]
    return fields


def _allowed_cidrs(raw: Mapping[str, Any]) -> tuple[str, ...]:
    value = raw.get("allowed_cidrs")
    accepted = (
        "expected a non-empty list of CIDRs such as 203.0.113.7/32, no broader than /8 (IPv4) or /32 (IPv6); "
        "0.0.0.0/0 and ::/0 would open SSH to everyone"
    )
    if not isinstance(value, (list, tuple)) or not value:
        raise _fail("bastion.allowed_cidrs", value, accepted)
    cidrs = []
    for index, cidr in enumerate(value):
        try:
            network = ipaddress.ip_network(cidr, strict=True) if isinstance(cidr, str) else None
        except ValueError:
            network = None
        # Broad ranges add up to the whole internet (0.0.0.0/1 plus 128.0.0.0/1): SSH wants a narrow list.
        if network is None or network.prefixlen < (MIN_SSH_PREFIX_V4 if network.version == 4 else MIN_SSH_PREFIX_V6):
            raise _fail(f"bastion.allowed_cidrs[{index}]", cidr, accepted)
        cidrs.append(str(network))
    return tuple(cidrs)


def _bastion(values: Mapping[str, Any]) -> Optional[BastionSettings]:
    raw = values.get("bastion")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise _fail("bastion", raw, "expected an object with public_key and allowed_cidrs")
    _reject_unknown_keys(raw, BastionArgs, "bastion.")
    return BastionSettings(
        public_key=_public_key(raw),
        allowed_cidrs=_allowed_cidrs(raw),
        instance_type=_str(
            raw, "instance_type", "t4g.nano", INSTANCE_TYPE, "an EC2 instance type such as t4g.nano", "bastion."
        ),
    )


def _counts(values: Mapping[str, Any]) -> tuple[int, int]:
    instance_count = _int(values, "instance_count", 3, 1, 100)
    max_count = _int(values, "max_count", 2 * instance_count, instance_count, 200)
    return instance_count, max_count


COMPONENT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
RESERVED_NAME_PREFIXES = ("aws", "ecs", "fargate", "internal")


def validate_name(name: Any) -> str:
    """The component's name starts every AWS name it creates, so it must suit the strictest of them: load balancer
    and target group names (32 characters with Pulumi's suffix), a DNS label, and ECS capacity provider names."""
    accepted = "expected 1 to 16 lowercase letters, digits or hyphens, starting with a letter"
    if not isinstance(name, str) or not COMPONENT_NAME.match(name) or name.endswith("-") or "--" in name:
        raise _fail("name", name, accepted)
    if name.startswith(RESERVED_NAME_PREFIXES):
        raise _fail(
            "name",
            name,
            f"{accepted}, and not starting with {', '.join(RESERVED_NAME_PREFIXES)} (ECS and ELB reserve them)",
        )
    return name


def validate(args: Optional[Mapping[str, Any]]) -> Settings:
    """Check every field of `args` and resolve the defaults. Raises TinyStackArgsError on the first bad field."""
    if args is not None and not isinstance(args, Mapping):
        raise _fail("args", args, "expected TinyStackArgs or a dict with its keys")
    values: Mapping[str, Any] = {key: value for key, value in (args or {}).items() if value is not None}
    _reject_unknown_keys(values, TinyStackArgs, "")
    front_end = _enum(values, "front_end", FrontEnd, FrontEnd.ALB)
    nat = _bool(values, "nat", True)
    instance_type = _str(values, "instance_type", "t3.small", INSTANCE_TYPE, "an EC2 instance type such as t3.small")
    database = _database(values)
    app_path = _app_path(values)
    container_cpu, container_memory = _container_size(values, instance_type)
    container_environment, container_secrets = _container_environments(values, database is not None)
    instance_count, max_count = _counts(values)
    health_check_path = _str(values, "health_check_path", "/", re.compile(r"^/\S{0,1023}$"), "a path starting with /")
    return Settings(
        front_end=front_end,
        nat=nat,
        container_port=_int(values, "container_port", 80, 1, 65535),
        container_image=_container_image(values, nat, app_path),
        app_path=app_path,
        container_cpu=container_cpu,
        container_memory=container_memory,
        container_environment=container_environment,
        container_secrets=container_secrets,
        vpc_cidr=_vpc_cidr(values),
        availability_zones=_availability_zones(values),
        nat_instance_type=_str(
            values, "nat_instance_type", "t4g.nano", INSTANCE_TYPE, "an EC2 instance type such as t4g.nano"
        ),
        nat_high_availability=_bool(values, "nat_high_availability", False),
        instance_type=instance_type,
        instance_count=instance_count,
        max_count=max_count,
        certificate_arn=_certificate_arn(values, front_end),
        health_check_path=health_check_path,
        database=database,
        bastion=_bastion(values),
        flow_logs=_bool(values, "flow_logs", True),
        tags=_tags(values),
    )


def check_zones_in_region(zones: tuple[str, ...], region: str, *, looked_up: bool) -> tuple[str, ...]:
    """AZs must belong to the provider's region; a looked-up region must offer at least two."""
    if looked_up and len(zones) < 2:
        raise _fail(
            "availability_zones",
            list(zones),
            f"region {region} offers fewer than 2 available zones; choose another region",
        )
    foreign = [zone for zone in zones if not zone.startswith(region)]
    if foreign:
        raise _fail("availability_zones", list(zones), f"expected zones of the provider's region {region}")
    return zones[:3]


def check_image_region(settings: Settings, region: str) -> None:
    """Isolated subnets pull through this region's ECR endpoints: an image in another region is unreachable."""
    image = settings.container_image
    if settings.nat or not isinstance(image, str):
        return
    image_region = image.split(".dkr.ecr.", 1)[1].split(".", 1)[0]
    if image_region != region:
        raise _fail(
            "container_image",
            image,
            f"with nat false the image must be in private ECR of the stack's region {region}; "
            f"replicate it there or use app_path",
        )
