"""Validation of TinyStackArgs: one rule per field, resolved in order into `Settings`.

`validate` turns a TinyStackArgs, or a plain dict with the same keys, into frozen `Settings` with every default
resolved, or raises `TinyStackArgsError` naming the field, the value and what is accepted. The fields and their
defaults are declared once, in `args.py`; each table of rules here must cover exactly the fields of its TypedDict,
which is checked when the module loads. Nothing here touches Pulumi resources, so every rule is tested without the
engine.
"""

import base64
import difflib
import ipaddress
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import FrozenInstanceError
from enum import Enum
from typing import Any, Optional

import pulumi

from .args import (
    DEFAULT_IMAGE,
    DEFAULTS,
    BastionArgs,
    DatabaseArgs,
    DatabaseEngine,
    FrontEnd,
    TinyStackArgs,
    TinyStackArgsError,
)
from .instance_types import container_capacity

PRIVATE_ECR_IMAGE = re.compile(
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9][a-z0-9._/-]*(:[\w.-]+|@sha256:[0-9a-f]{64})?$"
)
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
DB_INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9-]+\.[a-z0-9]+$")
AVAILABILITY_ZONE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+[a-z]$")
CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$")
DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{4,31}$")
# ACM puts the certificate's first name in its subject's common name, which X.509 limits to 64 octets.
ACM_COMMON_NAME_LIMIT = 64
HEALTH_CHECK_PATH = re.compile(r"^/\S{0,1023}$")
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


class Settings:
    """Validated args: every field of the TypedDict as an attribute, each default resolved. Frozen."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str) -> Any:
        try:
            return object.__getattribute__(self, "_values")[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._values == self._values  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._values)))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self._values.items())
        return f"{type(self).__name__}({fields})"


class DatabaseSettings(Settings):
    """DatabaseArgs after validation."""

    @property
    def port(self) -> int:
        return 5432 if self.engine is DatabaseEngine.POSTGRES else 3306


class BastionSettings(Settings):
    """BastionArgs after validation."""

    @property
    def session_manager(self) -> bool:
        """No key: a Session Manager host in an app subnet, with no public IP and no inbound rule."""
        return self.public_key is None


def uses_session_manager(settings: Settings) -> bool:
    """Whether something in the app subnets is reached through Session Manager (the keyless bastion)."""
    return settings.bastion is not None and settings.bastion.session_manager


# --- reading fields: each reader returns the value or raises naming the field ---------------------------------


def _fail(path: str, value: Any, accepted: str) -> TinyStackArgsError:
    return TinyStackArgsError(path, value, accepted)


def unknown_name(name: str, known: Sequence[str], prefix: str, noun: str) -> str:
    """What to say about a name that is not one of `known`: the closest one, then the whole list."""
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"did you mean {prefix}{close[0]}? " if close else ""
    return f"{hint}known {noun}: {', '.join(known)}"


def _whole(value: Any) -> Any:
    """Whole numbers as int. The component provider's construct delivers every number as a float."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _is_output(value: Any) -> bool:
    return isinstance(value, pulumi.Output)


class Fields:
    """The given values of one TypedDict, read field by field with the defaults of `args.DEFAULTS`."""

    def __init__(self, values: Mapping[str, Any], typed: type, prefix: str = "") -> None:
        self.values = values
        self.defaults = DEFAULTS[typed]
        self.prefix = prefix
        known = list(typed.__annotations__)
        for key in values:
            if key not in known:
                raise self.fail(str(key), values[key], unknown_name(str(key), known, prefix, "fields"))

    def fail(self, key: str, value: Any, accepted: str) -> TinyStackArgsError:
        return _fail(self.prefix + key, value, accepted)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.values.get(key)
        if value is not None:
            return value
        return self.defaults[key] if default is None else default

    def flag(self, key: str, default: Optional[bool] = None) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, value, "expected true or false")
        return value

    def number(self, key: str, low: int, high: int, unit: str = "a whole number", default: Optional[int] = None) -> int:
        value = _whole(self.get(key, default))
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(key, value, f"expected {unit} from {low} to {high}")
        return value

    def text(self, key: str, pattern: re.Pattern[str], accepted: str, default: Optional[str] = None) -> str:
        value = self.get(key, default)
        if not isinstance(value, str) or not pattern.match(value):
            raise self.fail(key, value, f"expected {accepted}")
        return value

    def choice(self, key: str, enum: type[Enum]) -> Any:
        value = self.get(key)
        try:
            return enum(value)
        except ValueError:
            accepted = ", ".join(repr(member.value) for member in enum)
            raise self.fail(key, value, f"expected one of {accepted}") from None

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self.values.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(key, value, "expected an object of names to values")
        return value


# One rule per field: it reads the given values and may use the fields resolved before it (a table's order).
Rule = Callable[[Fields, dict[str, Any]], Any]


def _resolve(fields: Fields, rules: Mapping[str, Rule]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for name, rule in rules.items():
        resolved[name] = rule(fields, resolved)
    return resolved


# --- field rules ----------------------------------------------------------------------------------------------


def _vpc_cidr(fields: Fields, _: dict) -> str:
    value = fields.get("vpc_cidr")
    accepted = "expected an IPv4 network such as 10.0.0.0/16, with a prefix from /16 to /24"
    try:
        network = ipaddress.IPv4Network(value, strict=True) if isinstance(value, str) else None
    except ValueError:
        network = None
    if network is None or not 16 <= network.prefixlen <= 24:
        raise fields.fail("vpc_cidr", value, accepted)
    return str(network)


def _availability_zones(fields: Fields, _: dict) -> Optional[tuple[str, ...]]:
    value = fields.get("availability_zones")
    if value is None:
        return None
    accepted = "expected a list of 2 or 3 distinct Availability Zone names of one region, such as us-east-1a"
    well_formed = isinstance(value, (list, tuple)) and all(isinstance(zone, str) for zone in value)
    if (
        not well_formed
        or not 2 <= len(value) <= 3
        or len(set(value)) != len(value)
        or not all(AVAILABILITY_ZONE.match(zone) for zone in value)
        or len({zone[:-1] for zone in value}) != 1
    ):
        raise fields.fail("availability_zones", value, accepted)
    return tuple(value)


def _endpoint_zones(fields: Fields, resolved: dict) -> Optional[int]:
    """None: every AZ of the stack, or nat true. The looked-up AZ count is checked again by check_endpoint_zones.

    With nat true the value is still checked but unused, so toggling nat stays a one-key edit."""
    if fields.values.get("endpoint_zones") is None:
        return None
    zones = resolved["availability_zones"]
    most = len(zones) if zones else 3
    wanted = fields.number("endpoint_zones", 1, most, unit=f"a number of the stack's {most} Availability Zones")
    return None if resolved["nat"] else wanted


ISOLATED_NEEDS_PRIVATE_ECR = (
    "with nat false the app subnets are isolated and cannot reach public registries: give a private ECR image "
    "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>) or app_path"
)


def _container_image(fields: Fields, resolved: dict) -> Optional[pulumi.Input[str]]:
    value = fields.values.get("container_image")
    nat = resolved["nat"]
    if resolved["app_path"] is not None:
        if value is not None:
            raise fields.fail("container_image", value, "give either container_image or app_path, not both")
        return None
    if value is None:
        value = DEFAULT_IMAGE if nat else None
    if value is None:
        raise fields.fail("container_image", value, ISOLATED_NEEDS_PRIVATE_ECR)
    if _is_output(value):
        return value
    if not isinstance(value, str) or not value.strip():
        raise fields.fail("container_image", value, "expected an image reference such as repository:tag")
    if not nat and not PRIVATE_ECR_IMAGE.match(value):
        raise fields.fail("container_image", value, ISOLATED_NEEDS_PRIVATE_ECR)
    return value


def _app_path(fields: Fields, _: dict) -> Optional[str]:
    value = fields.get("app_path")
    if value is None:
        return None
    if not isinstance(value, str) or not os.path.isfile(os.path.join(value, "Dockerfile")):
        raise fields.fail("app_path", value, "expected a folder that contains a Dockerfile")
    return value


def _environment(fields: Fields, key: str, has_database: bool) -> dict[str, Any]:
    environment = fields.mapping(key)
    for name, value in environment.items():
        path = f"{key}.{name}"
        if not isinstance(name, str) or not ENV_NAME.match(name):
            raise _fail(path, name, "expected a variable name of letters, digits and _, not starting with a digit")
        if has_database and name.startswith(DB_ENVIRONMENT_PREFIX):
            raise _fail(path, value, "names starting with DB_ are set by TinyStack from the database")
        if not (isinstance(value, str) or _is_output(value)):
            raise _fail(path, value, "expected a string value")
    return dict(environment)


def _container_environment(fields: Fields, resolved: dict) -> dict[str, Any]:
    return _environment(fields, "container_environment", resolved["database"] is not None)


def _container_secrets(fields: Fields, resolved: dict) -> dict[str, Any]:
    secret = _environment(fields, "container_secrets", resolved["database"] is not None)
    both = sorted(set(resolved["container_environment"]) & set(secret))
    if both:
        raise _fail(f"container_secrets.{both[0]}", both[0], "a name is either in container_environment or here")
    return secret


# Without a known instance type, the largest container ECS takes: 192 vCPUs and 768 GiB.
UNKNOWN_CAPACITY = (192 * 1024, 768 * 1024)


def _container_size(key: str, unit: str, least: int, dimension: int) -> Rule:
    """container_cpu (dimension 0) or container_memory (1): at most what the instance type can give a container,
    512 by default."""

    def rule(fields: Fields, resolved: dict) -> int:
        instance_type = resolved["instance_type"]
        capacity = container_capacity(instance_type)
        largest = (capacity or UNKNOWN_CAPACITY)[dimension]
        fits = f" (to fit a {instance_type} instance)" if capacity else ""
        return fields.number(key, least, largest, unit=f"{unit}{fits}", default=min(512, largest))

    return rule


def _certificate_arn(fields: Fields, resolved: dict) -> Optional[pulumi.Input[str]]:
    value = fields.get("certificate_arn")
    if value is None:
        return None
    if resolved["front_end"] is not FrontEnd.ALB and resolved["domain_name"] is None:
        raise fields.fail(
            "certificate_arn",
            value,
            "a certificate applies to the ALB front end, or to api-gateway with domain_name; remove it or set one",
        )
    if not _is_output(value) and not (isinstance(value, str) and CERTIFICATE_ARN.match(value)):
        raise fields.fail(
            "certificate_arn", value, "expected an ACM certificate ARN, arn:aws:acm:<region>:<account>:certificate/<id>"
        )
    return value


def is_dns_name(value: Any) -> bool:
    """A lower-case host name of two or more labels, without the trailing dot: what Route 53 and ACM both take."""
    if not isinstance(value, str) or len(value) > 253:
        return False
    labels = value.split(".")
    return len(labels) >= 2 and all(DNS_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def is_inside_zone(domain_name: str, zone_name: str) -> bool:
    return domain_name == zone_name or domain_name.endswith(f".{zone_name}")


DOMAIN_NAME_RULE = (
    "a lower-case DNS name such as app.example.com: two or more labels of letters, digits and inner hyphens, "
    "at most 63 characters each, no trailing dot"
)


def _domain_name(fields: Fields, _: dict) -> Optional[str]:
    value = fields.get("domain_name")
    if value is None:
        return None
    if not is_dns_name(value):
        raise fields.fail("domain_name", value, f"expected {DOMAIN_NAME_RULE}")
    if fields.get("certificate_arn") is None and len(value) > ACM_COMMON_NAME_LIMIT:
        raise fields.fail(
            "domain_name",
            value,
            f"expected at most {ACM_COMMON_NAME_LIMIT} characters for a certificate ACM makes; "
            "bring your own with certificate_arn for a longer name",
        )
    return value


def default_hosted_zone(domain_name: str) -> str:
    """The parent domain (app.example.com → example.com); a two-label name is the zone's apex itself."""
    labels = domain_name.split(".")
    return domain_name if len(labels) == 2 else ".".join(labels[1:])


def _hosted_zone(fields: Fields, resolved: dict) -> Optional[str]:
    value = fields.get("hosted_zone")
    domain_name = resolved["domain_name"]
    if domain_name is None:
        if value is not None:
            raise fields.fail("hosted_zone", value, "a hosted zone applies with domain_name only; set domain_name too")
        return None
    if value is None:
        return default_hosted_zone(domain_name)
    if isinstance(value, str) and HOSTED_ZONE_ID.match(value):
        return value
    name = value.removesuffix(".") if isinstance(value, str) else value
    if not is_dns_name(name):
        raise fields.fail(
            "hosted_zone", value, "expected a Route 53 zone id such as Z0123456789ABCDEFGHIJ or a zone name"
        )
    if not is_inside_zone(domain_name, name):
        raise fields.fail("hosted_zone", value, f"expected the zone that holds domain_name {domain_name}")
    return name


def _tags(fields: Fields, _: dict) -> Mapping[str, str]:
    tags = fields.mapping("tags")
    for key, value in tags.items():
        if key == "Name" or not isinstance(key, str) or key.startswith("aws:") or not 1 <= len(key) <= 128:
            raise _fail(
                f"tags.{key}", key, "expected a tag key of 1 to 128 characters, not Name (set per resource) nor aws:*"
            )
        if not isinstance(value, str) or len(value) > 256:
            raise _fail(f"tags.{key}", value, "expected a string of at most 256 characters")
    return dict(tags)


def _nested(key: str, typed: type, rules: Mapping[str, Rule], settings: type[Settings], what: str) -> Rule:
    """An optional object field (database, bastion): off unless given, then every nested rule applies."""

    def rule(fields: Fields, _: dict) -> Optional[Settings]:
        raw = fields.values.get(key)
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise fields.fail(key, raw, f"expected an object with {what}")
        return settings(_resolve(Fields(raw, typed, f"{key}."), rules))

    return rule


# --- database -------------------------------------------------------------------------------------------------


def _engine_version(fields: Fields, resolved: dict) -> str:
    default_version, version_rule, accepted_versions = ENGINE_VERSIONS[resolved["engine"]]
    return fields.text("engine_version", version_rule, accepted_versions, default=default_version)


def _max_allocated_storage(fields: Fields, resolved: dict) -> int:
    allocated = resolved["allocated_storage"]
    # RDS refuses an autoscaling ceiling less than 10% above the allocated storage.
    least = -(-allocated * 11 // 10)
    return fields.number("max_allocated_storage", least, 65536, default=min(max(100, allocated * 2), 65536))


DB_NAME_RULE = "a name of letters, digits and _, starting with a letter, at most 63 characters"


def _db_name(fields: Fields, _: dict) -> str:
    db_name = fields.text("db_name", DB_IDENTIFIER, DB_NAME_RULE)
    if len(db_name) > 63:
        raise fields.fail("db_name", db_name, f"expected {DB_NAME_RULE}")
    return db_name


def _username(fields: Fields, _: dict) -> str:
    username = fields.text("username", DB_IDENTIFIER, "a name of letters, digits and _, starting with a letter")
    if username.lower() in RESERVED_DB_USERNAMES or len(username) > 16:
        raise fields.fail(
            "username",
            username,
            f"expected at most 16 characters and none of {', '.join(sorted(RESERVED_DB_USERNAMES))}",
        )
    return username


DATABASE_RULES: dict[str, Rule] = {
    "engine": lambda fields, _: fields.choice("engine", DatabaseEngine),
    "engine_version": _engine_version,
    "instance_class": lambda fields, _: fields.text(
        "instance_class", DB_INSTANCE_CLASS, "an RDS class such as db.t4g.micro"
    ),
    "allocated_storage": lambda fields, _: fields.number("allocated_storage", 20, 65536),
    "max_allocated_storage": _max_allocated_storage,
    "db_name": _db_name,
    "username": _username,
    "multi_az": lambda fields, _: fields.flag("multi_az"),
    # None until the stack's deletion_protection fills it in (see _database).
    "deletion_protection": lambda fields, _: (
        fields.flag("deletion_protection") if fields.values.get("deletion_protection") is not None else None
    ),
    "backup_retention_days": lambda fields, _: fields.number("backup_retention_days", 1, 35),
    "monitoring_interval": lambda fields, _: _monitoring_interval(fields),
}

MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)


def _monitoring_interval(fields: Fields) -> int:
    value = _whole(fields.get("monitoring_interval"))
    if isinstance(value, bool) or value not in MONITORING_INTERVALS:
        raise fields.fail(
            "monitoring_interval",
            value,
            f"expected one of {', '.join(map(str, MONITORING_INTERVALS))} seconds (0 is off)",
        )
    return int(value)


# --- bastion --------------------------------------------------------------------------------------------------


def _public_key(fields: Fields, _: dict) -> Optional[str]:
    value = fields.get("public_key")
    if value is None:
        return None
    accepted = f"expected an OpenSSH public key line starting with one of {', '.join(SSH_KEY_TYPES)}"
    parts = value.split() if isinstance(value, str) else []
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES or not _key_blob_matches(parts[0], parts[1]):
        raise fields.fail("public_key", value, accepted)
    return " ".join(parts)


def _key_blob_matches(key_type: str, blob: str) -> bool:
    """The blob is the SSH wire format of a whole key of that type, not just a prefix (EC2 imports nothing less)."""
    try:
        parts = _ssh_fields(base64.b64decode(blob, validate=True))
    except ValueError:
        return False
    if not parts or parts[0] != key_type.encode():
        return False
    if key_type == "ssh-ed25519":
        return len(parts) == 2 and len(parts[1]) == 32
    if key_type == "ssh-rsa":
        return len(parts) == 3 and len(parts[2].lstrip(b"\0")) * 8 >= 2048
    return len(parts) == 3 and parts[1] == key_type.rsplit("-", 1)[-1].encode()


def _ssh_fields(data: bytes) -> list[bytes]:
    """Length-prefixed strings, as RFC 4253 lays out public keys; raises ValueError when they do not add up."""
    parts = []
    while data:
        length = int.from_bytes(data[:4], "big")
        if len(data) < 4 + length:
            raise ValueError("truncated key")
        parts.append(data[4 : 4 + length])
        data = data[4 + length :]
    return parts


SESSION_MANAGER_HAS_NO_INBOUND_RULE = (
    "the Session Manager bastion (no public_key) has no inbound rule, so it takes no allowed_cidrs; "
    "remove them, or give public_key for an SSH bastion"
)


def _allowed_cidrs(fields: Fields, resolved: dict) -> tuple[str, ...]:
    value = fields.get("allowed_cidrs")
    if resolved["public_key"] is None:
        if value is not None and value != []:
            raise fields.fail("allowed_cidrs", value, SESSION_MANAGER_HAS_NO_INBOUND_RULE)
        return ()
    accepted = (
        "expected a non-empty list of IPv4 CIDRs such as 203.0.113.7/32, no broader than /8; "
        "0.0.0.0/0 and ::/0 would open SSH to everyone"
    )
    if not isinstance(value, (list, tuple)) or not value:
        raise fields.fail("allowed_cidrs", value, accepted)
    cidrs = []
    for index, cidr in enumerate(value):
        try:
            network = ipaddress.ip_network(cidr, strict=True) if isinstance(cidr, str) else None
        except ValueError:
            network = None
        if network is not None and network.version == 6:
            # The VPC is IPv4 only, so the bastion has no IPv6 address: such a rule could never match.
            raise fields.fail(
                f"allowed_cidrs[{index}]", cidr, f"{accepted}; the VPC has no IPv6, so an IPv6 CIDR can never match"
            )
        # Broad ranges add up to the whole internet (0.0.0.0/1 plus 128.0.0.0/1): SSH wants a narrow list.
        if network is None or network.prefixlen < MIN_SSH_PREFIX_V4:
            raise fields.fail(f"allowed_cidrs[{index}]", cidr, accepted)
        cidrs.append(str(network))
    return tuple(cidrs)


BASTION_RULES: dict[str, Rule] = {
    "public_key": _public_key,
    "allowed_cidrs": _allowed_cidrs,
    "instance_type": lambda fields, _: fields.text(
        "instance_type", INSTANCE_TYPE, "an EC2 instance type such as t4g.nano"
    ),
}


# --- the component --------------------------------------------------------------------------------------------

_database_fields = _nested(
    "database", DatabaseArgs, DATABASE_RULES, DatabaseSettings, "database fields (engine, instance_class, ...)"
)


def _database(fields: Fields, resolved: dict) -> Optional[Settings]:
    """The database, whose deletion protection is the stack's unless it says otherwise."""
    database = _database_fields(fields, resolved)
    if database is None or database.deletion_protection is not None:
        return database
    values = object.__getattribute__(database, "_values")
    return DatabaseSettings({**values, "deletion_protection": resolved["deletion_protection"]})


def _waf(fields: Fields, resolved: dict) -> bool:
    waf = fields.flag("waf")
    if waf and resolved["front_end"] is not FrontEnd.ALB:
        raise fields.fail(
            "waf",
            waf,
            "HTTP APIs (API Gateway v2, the api-gateway front end) cannot be associated with a WAF web ACL; "
            "use front_end alb for a WAF, or turn waf off (the HTTP API keeps its throttling)",
        )
    return waf


# In the order the rules depend on each other: a rule reads only fields above it.
RULES: dict[str, Rule] = {
    "front_end": lambda fields, _: fields.choice("front_end", FrontEnd),
    "nat": lambda fields, _: fields.flag("nat"),
    "container_port": lambda fields, _: fields.number("container_port", 1, 65535),
    "app_path": _app_path,
    "container_image": _container_image,
    "instance_type": lambda fields, _: fields.text(
        "instance_type", INSTANCE_TYPE, "an EC2 instance type such as t3.small"
    ),
    "container_cpu": _container_size("container_cpu", "CPU units", 128, 0),
    "container_memory": _container_size("container_memory", "MiB", 64, 1),
    "deletion_protection": lambda fields, _: fields.flag("deletion_protection"),
    "database": lambda fields, resolved: _database(fields, resolved),
    "container_environment": _container_environment,
    "container_secrets": _container_secrets,
    "vpc_cidr": _vpc_cidr,
    "availability_zones": _availability_zones,
    "endpoint_zones": _endpoint_zones,
    "nat_instance_type": lambda fields, _: fields.text(
        "nat_instance_type", INSTANCE_TYPE, "an EC2 instance type such as t4g.nano"
    ),
    "nat_high_availability": lambda fields, _: fields.flag("nat_high_availability"),
    "instance_count": lambda fields, _: fields.number("instance_count", 1, 100),
    "max_count": lambda fields, resolved: fields.number(
        "max_count", resolved["instance_count"], 200, default=2 * resolved["instance_count"]
    ),
    "domain_name": _domain_name,
    "hosted_zone": _hosted_zone,
    "certificate_arn": _certificate_arn,
    "health_check_path": lambda fields, _: fields.text(
        "health_check_path", HEALTH_CHECK_PATH, "a path starting with /"
    ),
    "bastion": _nested("bastion", BastionArgs, BASTION_RULES, BastionSettings, "public_key, allowed_cidrs, ..."),
    "flow_logs": lambda fields, _: fields.flag("flow_logs"),
    "alb_access_logs": lambda fields, _: fields.flag("alb_access_logs"),
    "waf": _waf,
    "kms": lambda fields, _: fields.flag("kms"),
    # ECS.5 by default only for the default image, whose writable paths are known (service.SCRATCH_PATHS_MIB): an
    # image of the user's own (container_image, app_path, and so every isolated stack) may write anywhere.
    "read_only_root_filesystem": lambda fields, resolved: fields.flag(
        "read_only_root_filesystem",
        default=fields.values.get("container_image") is None and resolved["app_path"] is None,
    ),
    "tags": _tags,
}


def _check_tables() -> None:
    """Each TypedDict field has exactly one default and one rule: a field added without them fails at import."""
    for typed, rules in ((TinyStackArgs, RULES), (DatabaseArgs, DATABASE_RULES), (BastionArgs, BASTION_RULES)):
        declared = set(typed.__annotations__)
        if declared != set(rules) or declared != set(DEFAULTS[typed]):
            raise AssertionError(f"{typed.__name__}: fields, DEFAULTS and rules differ")


_check_tables()


def validate(args: Optional[Mapping[str, Any]]) -> Settings:
    """Check every field of `args` and resolve the defaults. Raises TinyStackArgsError on the first bad field."""
    if args is not None and not isinstance(args, Mapping):
        raise _fail("args", args, "expected TinyStackArgs or a dict with its keys")
    values: Mapping[str, Any] = {key: value for key, value in (args or {}).items() if value is not None}
    return Settings(_resolve(Fields(values, TinyStackArgs), RULES))


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


def check_zones_in_region(zones: tuple[str, ...], region: str, *, looked_up: bool) -> tuple[str, ...]:
    """AZs must belong to the provider's region; a looked-up region must offer at least two. All of them are kept:
    `check_zone_offerings` picks the first three that launch every instance type of the stack."""
    if looked_up and len(zones) < 2:
        raise _fail(
            "availability_zones",
            list(zones),
            f"region {region} offers fewer than 2 available zones; choose another region",
        )
    foreign = [zone for zone in zones if not zone.startswith(region)]
    if foreign:
        raise _fail("availability_zones", list(zones), f"expected zones of the provider's region {region}")
    return zones


def instance_type_fields(settings: Settings, *, launched_only: bool = True) -> dict[str, list[str]]:
    """Each EC2 instance type the stack launches, with the fields that ask for it.

    With `launched_only` false, also the NAT type when nat is false and the bastion type (given or default) when there
    is no bastion: the default zones are chosen on all of them, so toggling nat or adding a bastion never moves a
    zone, and with it a subnet (a replacement)."""
    bastion_type = (
        settings.bastion.instance_type if settings.bastion is not None else DEFAULTS[BastionArgs]["instance_type"]
    )
    wanted = [
        ("nat_instance_type", settings.nat_instance_type, settings.nat),
        ("instance_type", settings.instance_type, True),
        ("bastion.instance_type", bastion_type, settings.bastion is not None),
    ]
    fields: dict[str, list[str]] = {}
    for field, instance_type, launched in wanted:
        if launched or not launched_only:
            fields.setdefault(instance_type, []).append(field)
    return fields


def _lacking(zone: str, offered: Mapping[str, set[str]], types: Mapping[str, list[str]]) -> str:
    missing = [
        f"{kind} ({', '.join(fields)})" for kind, fields in types.items() if kind not in offered.get(zone, set())
    ]
    return f"{zone} does not offer {', '.join(missing)}" if missing else ""


def check_zone_offerings(
    zones: tuple[str, ...],
    offered: Mapping[str, set[str]],
    types: Mapping[str, list[str]],
    region: str,
    *,
    looked_up: bool,
) -> tuple[str, ...]:
    """Every instance type must be offered in every zone, or a launch fails half-way through `pulumi up`.

    Given zones must each offer every type; looked-up zones are narrowed to those that do (at least two)."""
    lacking = {zone: _lacking(zone, offered, types) for zone in zones}
    problems = "; ".join(text for text in lacking.values() if text)
    if not looked_up:
        if problems:
            raise _fail(
                "availability_zones",
                list(zones),
                f"{problems}; choose zones that offer every instance type of the stack, or other types",
            )
        return zones
    usable = tuple(zone for zone in zones if not lacking[zone])
    if len(usable) < 2:
        raise _fail(
            "availability_zones",
            list(zones),
            f"region {region} offers every instance type of the stack in fewer than 2 zones "
            f"({', '.join(usable) or 'none'}): {problems}; choose other instance types",
        )
    return usable[:3]


def check_endpoint_zones(settings: Settings, zones: tuple[str, ...]) -> int:
    """How many AZs get interface endpoints: endpoint_zones, at most the AZs the stack uses, or all of them."""
    wanted = settings.endpoint_zones
    if wanted is None:
        return len(zones)
    if wanted > len(zones):
        raise _fail(
            "endpoint_zones",
            wanted,
            f"expected at most the stack's {len(zones)} Availability Zones ({', '.join(zones)})",
        )
    return int(wanted)


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


def check_certificate_region(settings: Settings, region: str) -> None:
    """ALB listeners and regional API domains take a certificate of their own region only."""
    arn = settings.certificate_arn
    if not isinstance(arn, str):
        return
    certificate_region = arn.split(":")[3]
    if certificate_region != region:
        raise _fail(
            "certificate_arn",
            arn,
            f"expected a certificate in the stack's region {region}, not {certificate_region}; request or import "
            "it there, or set domain_name without certificate_arn and the stack makes one",
        )


def check_hosted_zone(settings: Settings, field: str, zone_name: str, private: bool) -> str:
    """The looked-up zone: public (the internet must resolve the name) and holding domain_name. Its name, no dot.

    `field` is hosted_zone, or domain_name when the zone is its parent domain, the default."""
    name = zone_name.removesuffix(".")
    if private:
        raise _fail(
            field,
            getattr(settings, field),
            f"expected a public hosted zone: {name} is private, and the internet-facing front end needs a name "
            "the internet can resolve",
        )
    if not is_inside_zone(settings.domain_name, name):
        raise _fail(
            field,
            getattr(settings, field),
            f"expected the zone that holds domain_name {settings.domain_name}; this zone is {name}",
        )
    return name


def missing_hosted_zone(settings: Settings, field: str, by_id: bool, reason: str) -> TinyStackArgsError:
    """The look-up found no zone (by name: none, or several, public or private, of that name)."""
    given = settings.hosted_zone
    if by_id:
        accepted = (
            f"expected the id of a public hosted zone in the provider's account; Route 53 has none with id {given}"
        )
    else:
        default = " (the parent domain of domain_name, the default)" if field == "domain_name" else ""
        accepted = (
            f"expected one public hosted zone named {given}{default}, but no single one exists in the provider's "
            f"account; set hosted_zone to the id (Z…) of the public zone that holds {settings.domain_name}, or to "
            "its name"
        )
    return _fail(field, getattr(settings, field), f"{accepted} (Route 53 said: {reason})")
