"""Typed inputs of the TinyStack component: the one declaration of every field.

Each input is declared once, here: a TypedDict field with its docstring (which becomes the schema's description)
and, in `DEFAULTS`, its default. `validation.py` holds one rule per field and resolves them into `Settings`;
`config.py` derives the stack config keys (camelCase) and their types from these annotations. Adding a field is
the field, its default, and its validation rule.
"""

from collections.abc import Mapping
from enum import Enum
from typing import Any, Optional, TypedDict

import pulumi


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
    """Refuse deletion of the instance until this is turned off. Default: the stack's deletion protection (true)."""
    backup_retention_days: int
    """Days of automated backups, 1 to 35. Default: 7."""
    monitoring_interval: int
    """Enhanced monitoring (RDS.6) every 1, 5, 10, 15, 30 or 60 seconds, billed as CloudWatch Logs. Default: 0 (off)."""


class BastionArgs(TypedDict, total=False):
    """An optional bastion from which the team reaches the database: SSH with a key, or Session Manager without."""

    public_key: str
    """OpenSSH key (ssh-ed25519, ssh-rsa, ecdsa-sha2-*): SSH bastion. Without: Session Manager, no open port."""
    allowed_cidrs: list[str]
    """IPv4 CIDRs that may reach port 22, such as 203.0.113.7/32; only with a public key. 0.0.0.0/0 and IPv6 refused."""
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
    endpoint_zones: int
    """With nat false, endpoints in the first N AZs (default all): others cross AZs, an outage there cuts all."""
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
    """ACM certificate ARN: HTTPS on 443 and HTTP redirected to it. ALB, or API Gateway with a domain name."""
    domain_name: str
    """Host name of the app, such as app.example.com: a certificate, its DNS validation and an alias record."""
    hosted_zone: str
    """Public Route 53 zone of the domain name: its id (Z...) or name. Default: the parent domain (2 labels: itself)."""
    health_check_path: str
    """HTTP path the load balancer checks on each container. Default: /."""
    database: DatabaseArgs
    """An optional RDS database. Off unless given."""
    bastion: BastionArgs
    """An optional bastion: SSH with a public key, or Session Manager without one. Off unless given."""
    flow_logs: bool
    """Send rejected VPC traffic to CloudWatch Logs. Default: true."""
    alb_access_logs: bool
    """ALB access logs (ELB.5) to an S3 bucket the stack creates, kept 30 days. ALB only. Default: true."""
    deletion_protection: bool
    """Protect the ALB (ELB.6) and, unless it says otherwise, the database from deletion. Default: true."""
    waf: bool
    """A WAF web ACL (AWS managed rules and a rate limit per IP) on the ALB. ALB only. Default: false."""
    kms: bool
    """One customer-managed KMS key ($1/month) for the log groups, app secrets and database password. Default: false."""
    read_only_root_filesystem: bool
    """Read-only root (ECS.5), tmpfs at /tmp, /var/run, /var/cache/nginx. Default: true for the default image only."""
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


# The defaults of every field, in one table per TypedDict. None means "not set": the field is off (database,
# bastion) or its default is derived from other fields (the rule in validation.py says how, the docstring says so).
DEFAULTS: dict[type, dict[str, Any]] = {
    TinyStackArgs: {
        "front_end": FrontEnd.ALB,
        "nat": True,
        "container_port": 80,
        "container_image": None,
        "app_path": None,
        "container_cpu": None,
        "container_memory": None,
        "container_environment": None,
        "container_secrets": None,
        "vpc_cidr": "10.0.0.0/16",
        "availability_zones": None,
        "endpoint_zones": None,
        "nat_instance_type": "t4g.nano",
        "nat_high_availability": False,
        "instance_type": "t3.small",
        "instance_count": 3,
        "max_count": None,
        "certificate_arn": None,
        "domain_name": None,
        "hosted_zone": None,
        "health_check_path": "/",
        "database": None,
        "bastion": None,
        "flow_logs": True,
        "alb_access_logs": True,
        "deletion_protection": True,
        "waf": False,
        "kms": False,
        "read_only_root_filesystem": None,
        "tags": None,
    },
    DatabaseArgs: {
        "engine": DatabaseEngine.POSTGRES,
        "engine_version": None,
        "instance_class": "db.t4g.micro",
        "allocated_storage": 20,
        "max_allocated_storage": None,
        "db_name": "app",
        "username": "app",
        "multi_az": False,
        "deletion_protection": None,
        "backup_retention_days": 7,
        "monitoring_interval": 0,
    },
    BastionArgs: {
        "public_key": None,
        "allowed_cidrs": None,
        "instance_type": "t4g.nano",
    },
}

# The public image the stack runs when neither container_image nor app_path is given (NAT mode only).
DEFAULT_IMAGE = "public.ecr.aws/nginx/nginx:stable"
