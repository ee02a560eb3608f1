"""Every validation rule of TinyStackArgs, without the Pulumi engine."""

import base64

import pytest

from tests.conftest import PUBLIC_KEY
from tinystack_component import FrontEnd, TinyStackArgsError
from tinystack_component.args import DatabaseEngine
from tinystack_component.validation import (
    check_zone_offerings,
    check_zones_in_region,
    instance_type_fields,
    validate,
    validate_name,
)

ED25519 = PUBLIC_KEY
PRIVATE_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.2.3"
SHORT_RSA = (
    "ssh-rsa "
    + base64.b64encode(
        b"".join(len(part).to_bytes(4, "big") + part for part in (b"ssh-rsa", b"\x01\x00\x01", b"\xff" * 128))
    ).decode()
)
BASTION = {"public_key": ED25519, "allowed_cidrs": ["203.0.113.7/32"]}


def rejects(args: dict, field: str, value_text: str = "", accepted_text: str = "") -> TinyStackArgsError:
    with pytest.raises(TinyStackArgsError) as caught:
        validate(args)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.field == field, str(error)
    assert field in str(error)
    assert value_text in str(error)
    assert accepted_text in str(error)
    return error


def test_defaults():
    settings = validate({})
    assert settings.front_end is FrontEnd.ALB
    assert settings.nat is True
    assert settings.container_port == 80
    assert settings.container_image == "public.ecr.aws/nginx/nginx:stable"
    assert settings.vpc_cidr == "10.0.0.0/16"
    assert settings.availability_zones is None
    assert settings.nat_instance_type == "t4g.nano"
    assert settings.instance_type == "t3.small"
    assert (settings.instance_count, settings.max_count) == (3, 6)
    assert settings.health_check_path == "/"
    assert settings.flow_logs is True
    assert settings.database is None and settings.bastion is None
    assert settings.certificate_arn is None


def test_front_end_accepts_enum_and_plain_string():
    assert validate({"front_end": FrontEnd.API_GATEWAY}).front_end is FrontEnd.API_GATEWAY
    assert validate({"front_end": "api-gateway"}).front_end is FrontEnd.API_GATEWAY
    rejects({"front_end": "nlb"}, "front_end", "'nlb'", "'alb', 'api-gateway'")


def test_unknown_field_names_the_closest():
    rejects({"contaner_port": 8080}, "contaner_port", "8080", "did you mean container_port")


@pytest.mark.parametrize("port", [0, 65536, -1, "80", True, 80.5])
def test_container_port_range(port):
    rejects({"container_port": port}, "container_port", repr(port), "1 to 65535")


def test_whole_floats_from_the_provider_are_ints():
    assert validate({"container_port": 8080.0}).container_port == 8080


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "10.0.0.0/25", "10.0.0.1/16", "banana", "2001:db8::/56", 10])
def test_vpc_cidr(cidr):
    rejects({"vpc_cidr": cidr}, "vpc_cidr", repr(cidr), "/16 to /24")


def test_vpc_cidr_bounds_accepted():
    assert validate({"vpc_cidr": "172.16.0.0/24"}).vpc_cidr == "172.16.0.0/24"
    assert validate({"vpc_cidr": "192.168.0.0/16"}).vpc_cidr == "192.168.0.0/16"


@pytest.mark.parametrize(
    "zones",
    [
        ["us-east-1a"],
        ["us-east-1a", "us-east-1a"],
        ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"],
        ["us-east-1a", "eu-west-1b"],
        ["us-east-1a", "nowhere"],
        "us-east-1a",
    ],
)
def test_availability_zones(zones):
    rejects({"availability_zones": zones}, "availability_zones", accepted_text="2 or 3 distinct")


def test_zones_must_match_region_and_count():
    with pytest.raises(TinyStackArgsError, match="fewer than 2"):
        check_zones_in_region(("ap-east-2a",), "ap-east-2", looked_up=True)
    with pytest.raises(TinyStackArgsError, match="us-east-1"):
        check_zones_in_region(("eu-west-1a", "eu-west-1b"), "us-east-1", looked_up=False)
    zones = ("a-b-1a", "a-b-1b", "a-b-1c", "a-b-1d")
    assert check_zones_in_region(zones, "a-b-1", looked_up=True) == zones


TYPES = {"t4g.nano": ["nat_instance_type", "bastion.instance_type"], "t3.small": ["instance_type"]}
EVERYWHERE_BUT_E = {zone: set(TYPES) for zone in ("a-b-1a", "a-b-1b", "a-b-1c", "a-b-1d")} | {"a-b-1e": {"t3.small"}}


def test_looked_up_zones_are_the_first_three_that_offer_every_type():
    zones = ("a-b-1a", "a-b-1e", "a-b-1b", "a-b-1c", "a-b-1d")
    assert check_zone_offerings(zones, EVERYWHERE_BUT_E, TYPES, "a-b-1", looked_up=True) == (
        "a-b-1a",
        "a-b-1b",
        "a-b-1c",
    )


def test_a_given_zone_must_offer_every_type_and_the_error_names_the_fields():
    with pytest.raises(TinyStackArgsError) as caught:
        check_zone_offerings(("a-b-1a", "a-b-1e"), EVERYWHERE_BUT_E, TYPES, "a-b-1", looked_up=False)
    assert caught.value.field == "availability_zones"
    assert "a-b-1e does not offer t4g.nano (nat_instance_type, bastion.instance_type)" in str(caught.value)
    assert "t3.small" not in str(caught.value).split("does not offer", 1)[1]


def test_instance_type_fields_follow_the_nat_mode_and_the_bastion():
    assert instance_type_fields(validate({})) == {"t4g.nano": ["nat_instance_type"], "t3.small": ["instance_type"]}
    isolated = validate({"nat": False, "container_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"})
    assert instance_type_fields(isolated) == {"t3.small": ["instance_type"]}
    with_bastion = validate({"bastion": BASTION})
    assert instance_type_fields(with_bastion)["t4g.nano"] == ["nat_instance_type", "bastion.instance_type"]


def test_default_zones_are_chosen_on_the_nat_and_bastion_types_whatever_nat_and_bastion_say():
    isolated = validate({"nat": False, "container_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"})
    assert instance_type_fields(isolated, launched_only=False) == {
        "t4g.nano": ["nat_instance_type", "bastion.instance_type"],
        "t3.small": ["instance_type"],
    }
    with_bastion = validate({"bastion": {**BASTION, "instance_type": "t3.micro"}})
    assert instance_type_fields(with_bastion, launched_only=False)["t3.micro"] == ["bastion.instance_type"]


@pytest.mark.parametrize("count", [0, -3, 1.5, "3"])
def test_instance_count(count):
    rejects({"instance_count": count}, "instance_count", repr(count), "from 1")


def test_max_count_not_below_instance_count():
    rejects({"instance_count": 4, "max_count": 3}, "max_count", "3", "from 4")
    assert validate({"instance_count": 2}).max_count == 4


@pytest.mark.parametrize("field", ["instance_type", "nat_instance_type"])
def test_instance_types(field):
    rejects({field: "t3 small"}, field, "'t3 small'", "instance type")


def test_nat_false_refuses_public_images():
    error = rejects({"nat": False, "container_image": "nginx:latest"}, "container_image", "'nginx:latest'")
    assert "public registries" in str(error) and "private ECR" in str(error)
    rejects({"nat": False}, "container_image", accepted_text="isolated")
    assert validate({"nat": False, "container_image": PRIVATE_IMAGE}).container_image == PRIVATE_IMAGE


def test_nat_must_be_a_bool():
    rejects({"nat": "yes"}, "nat", "'yes'", "true or false")


def test_app_path_needs_a_dockerfile(tmp_path):
    rejects({"app_path": str(tmp_path)}, "app_path", accepted_text="Dockerfile")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    settings = validate({"app_path": str(tmp_path), "nat": False})
    assert settings.app_path == str(tmp_path) and settings.container_image is None
    rejects({"app_path": str(tmp_path), "container_image": "nginx"}, "container_image", accepted_text="not both")


def test_container_size_fits_the_instance_type():
    rejects({"container_memory": 4096}, "container_memory", "4096", "fit a t3.small")
    rejects({"container_cpu": 4096}, "container_cpu", "4096", "fit a t3.small")
    settings = validate({"instance_type": "m7g.large", "container_memory": 4096, "container_cpu": 1024})
    assert (settings.container_cpu, settings.container_memory) == (1024, 4096)


def test_container_environment():
    assert validate({"container_environment": {"MODE": "prod"}}).container_environment == {"MODE": "prod"}
    rejects({"container_environment": {"1BAD": "x"}}, "container_environment.1BAD")
    rejects({"container_environment": {"PORT": 8080}}, "container_environment.PORT", accepted_text="string")
    rejects(
        {"container_environment": {"DB_HOST": "x"}, "database": {}},
        "container_environment.DB_HOST",
        accepted_text="set by TinyStack",
    )


def test_certificate_arn():
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/0f6e5d4c-1111-2222-3333-444455556666"
    assert validate({"certificate_arn": arn}).certificate_arn == arn
    rejects({"certificate_arn": "not-an-arn"}, "certificate_arn", "'not-an-arn'", "ACM certificate ARN")
    rejects({"front_end": "api-gateway", "certificate_arn": arn}, "certificate_arn", accepted_text="applies to the ALB")


def test_health_check_path():
    rejects({"health_check_path": "healthz"}, "health_check_path", "'healthz'", "starting with /")


def test_tags():
    assert validate({"tags": {"team": "web"}}).tags == {"team": "web"}
    rejects({"tags": {"Name": "x"}}, "tags.Name", accepted_text="not Name")
    rejects({"tags": {"aws:foo": "x"}}, "tags.aws:foo")
    rejects({"tags": {"team": 3}}, "tags.team", accepted_text="string")
    rejects({"tags": ["team"]}, "tags", accepted_text="object")


def test_database_defaults_and_engines():
    postgres = validate({"database": {}}).database
    assert postgres is not None
    assert (postgres.engine, postgres.engine_version, postgres.port) == (DatabaseEngine.POSTGRES, "16", 5432)
    assert (postgres.instance_class, postgres.allocated_storage, postgres.db_name, postgres.username) == (
        "db.t4g.micro",
        20,
        "app",
        "app",
    )
    assert postgres.max_allocated_storage > postgres.allocated_storage
    assert (postgres.multi_az, postgres.deletion_protection, postgres.backup_retention_days) == (False, True, 7)
    mysql = validate({"database": {"engine": "mysql"}}).database
    assert mysql is not None and (mysql.engine_version, mysql.port) == ("8.4", 3306)


@pytest.mark.parametrize(
    ("database", "field", "accepted"),
    [
        ({"engine": "oracle"}, "database.engine", "'postgres', 'mysql'"),
        ({"engine_version": "latest"}, "database.engine_version", "version"),
        ({"instance_class": "t4g.micro"}, "database.instance_class", "db.t4g.micro"),
        ({"allocated_storage": 10}, "database.allocated_storage", "20 to 65536"),
        ({"allocated_storage": 50, "max_allocated_storage": 40}, "database.max_allocated_storage", "from 55"),
        ({"allocated_storage": 100, "max_allocated_storage": 105}, "database.max_allocated_storage", "from 110"),
        ({"engine_version": "8.0"}, "database.engine_version", "PostgreSQL version from 13"),
        ({"engine_version": "9.6"}, "database.engine_version", "PostgreSQL"),
        ({"engine": "mysql", "engine_version": "16"}, "database.engine_version", "MySQL version 8.0 or 8.4"),
        ({"engine": "mysql", "engine_version": "5.7"}, "database.engine_version", "MySQL"),
        ({"db_name": "1app"}, "database.db_name", "starting with a letter"),
        ({"username": "admin"}, "database.username", "admin"),
        ({"username": "postgres"}, "database.username", "postgres"),
        ({"multi_az": "yes"}, "database.multi_az", "true or false"),
        ({"deletion_protection": 1}, "database.deletion_protection", "true or false"),
        ({"backup_retention_days": 0}, "database.backup_retention_days", "1 to 35"),
        ({"instance_clas": "db.t4g.micro"}, "database.instance_clas", "did you mean database.instance_class"),
    ],
)
def test_database_fields(database, field, accepted):
    rejects({"database": database}, field, accepted_text=accepted)


def test_database_backup_can_be_lowered_explicitly():
    database = validate({"database": {"backup_retention_days": 1}}).database
    assert database is not None and database.backup_retention_days == 1


def test_bastion_accepts_keys_and_cidrs():
    bastion = validate({"bastion": {**BASTION, "allowed_cidrs": ["203.0.113.7/32", "198.51.100.0/24"]}}).bastion
    assert bastion is not None
    assert bastion.allowed_cidrs == ("203.0.113.7/32", "198.51.100.0/24")
    assert bastion.instance_type == "t4g.nano"
    assert bastion.public_key.startswith("ssh-ed25519 ")


def test_a_bastion_without_a_key_is_a_session_manager_host():
    bastion = validate({"bastion": {"instance_type": "t4g.micro"}}).bastion
    assert bastion is not None and bastion.session_manager
    assert bastion.public_key is None and bastion.allowed_cidrs == ()
    assert not validate({"bastion": BASTION}).bastion.session_manager


@pytest.mark.parametrize(
    ("bastion", "field", "accepted"),
    [
        ({"allowed_cidrs": ["203.0.113.7/32"]}, "bastion.allowed_cidrs", "has no inbound rule"),
        ({**BASTION, "public_key": "ssh-dss AAAAB3NzaC1kc3MAAACBAP"}, "bastion.public_key", "ssh-ed25519"),
        ({**BASTION, "public_key": "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHj3"}, "bastion.public_key", "ssh-rsa"),
        ({**BASTION, "public_key": "-----BEGIN OPENSSH PRIVATE KEY-----"}, "bastion.public_key", "public key"),
        ({"public_key": ED25519}, "bastion.allowed_cidrs", "non-empty"),
        ({**BASTION, "allowed_cidrs": []}, "bastion.allowed_cidrs", "non-empty"),
        ({**BASTION, "allowed_cidrs": ["0.0.0.0/0"]}, "bastion.allowed_cidrs[0]", "0.0.0.0/0"),
        ({**BASTION, "allowed_cidrs": ["203.0.113.7/32", "::/0"]}, "bastion.allowed_cidrs[1]", "::/0"),
        ({**BASTION, "allowed_cidrs": ["203.0.113.7/24"]}, "bastion.allowed_cidrs[0]", "CIDRs"),
        ({**BASTION, "allowed_cidrs": ["0.0.0.0/1", "128.0.0.0/1"]}, "bastion.allowed_cidrs[0]", "no broader than /8"),
        ({**BASTION, "allowed_cidrs": ["2000::/3"]}, "bastion.allowed_cidrs[0]", "no IPv6"),
        ({**BASTION, "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"}, "bastion.public_key", "OpenSSH"),
        ({**BASTION, "public_key": SHORT_RSA}, "bastion.public_key", "OpenSSH"),
        ({**BASTION, "instance_type": "big"}, "bastion.instance_type", "instance type"),
        ({**BASTION, "alowed_cidrs": []}, "bastion.alowed_cidrs", "did you mean bastion.allowed_cidrs"),
    ],
)
def test_bastion_fields(bastion, field, accepted):
    rejects({"bastion": bastion}, field, accepted_text=accepted)


def test_nested_args_must_be_objects():
    rejects({"database": "postgres"}, "database", accepted_text="object")
    rejects({"bastion": ["key"]}, "bastion", accepted_text="object")


@pytest.mark.parametrize(
    "name", ["Web", "web_app", "1web", "a-very-long-name-x", "web-", "we--b", "ecs-app", "aws1", ""]
)
def test_component_names_that_aws_would_refuse(name):
    with pytest.raises(TinyStackArgsError) as caught:
        validate_name(name)
    assert caught.value.field == "name" and repr(name) in str(caught.value)


def test_component_names_accepted():
    assert validate_name("web") == "web" and validate_name("checkout-eu-1") == "checkout-eu-1"


def test_keys_of_each_type_are_parsed_whole():
    def key(*parts: bytes) -> str:
        return base64.b64encode(b"".join(len(part).to_bytes(4, "big") + part for part in parts)).decode()

    rsa = "ssh-rsa " + key(b"ssh-rsa", b"\x01\x00\x01", b"\x00" + b"\xc1" * 256)
    ecdsa = "ecdsa-sha2-nistp256 " + key(b"ecdsa-sha2-nistp256", b"nistp256", b"\x04" + b"\x11" * 64)
    for public_key in (rsa, ecdsa, PUBLIC_KEY):
        bastion = validate({"bastion": {**BASTION, "public_key": public_key}}).bastion
        assert bastion is not None and bastion.public_key == public_key.strip()


@pytest.mark.parametrize("zones", [[["us-east-1a"], ["us-east-1b"]], [{"a": 1}, {"b": 2}], [1, 2]])
def test_zone_lists_of_other_things_get_a_clear_error(zones):
    rejects({"availability_zones": zones}, "availability_zones", accepted_text="Availability Zone names")


@pytest.mark.parametrize("args", [["front_end"], "alb", 3])
def test_args_that_are_not_a_mapping(args):
    rejects(args, "args", accepted_text="TinyStackArgs")


def test_container_secrets():
    settings = validate({"container_secrets": {"API_KEY": "x"}})
    assert settings.container_secrets == {"API_KEY": "x"}
    rejects(
        {"container_secrets": {"API_KEY": "x"}, "container_environment": {"API_KEY": "y"}}, "container_secrets.API_KEY"
    )
    rejects({"container_secrets": {"DB_PASSWORD": "x"}, "database": {}}, "container_secrets.DB_PASSWORD")
    rejects({"container_secrets": {"bad-name": "x"}}, "container_secrets.bad-name")


def test_a_field_without_a_default_or_a_rule_fails_when_the_module_loads(monkeypatch):
    from tinystack_component import validation
    from tinystack_component.args import DEFAULTS, TinyStackArgs

    validation._check_tables()
    monkeypatch.setitem(DEFAULTS, TinyStackArgs, {k: v for k, v in DEFAULTS[TinyStackArgs].items() if k != "nat"})
    with pytest.raises(AssertionError, match="TinyStackArgs"):
        validation._check_tables()
    monkeypatch.undo()
    monkeypatch.delitem(validation.BASTION_RULES, "instance_type")
    with pytest.raises(AssertionError, match="BastionArgs"):
        validation._check_tables()


def test_settings_are_frozen_and_name_unknown_fields():
    import dataclasses

    settings = validate({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.nat = False
    with pytest.raises(AttributeError, match="no field 'natt'"):
        _ = settings.natt
    assert validate({}) == settings and validate({"nat": False, "container_image": PRIVATE_IMAGE}) != settings


@pytest.mark.parametrize("cidr", ["2001:db8::/48", "2001:db8::1/128"])
def test_an_ipv6_ssh_cidr_is_refused_since_the_vpc_has_no_ipv6(cidr):
    # The VPC and its subnets are IPv4 only: an IPv6 rule on the bastion's group could never match.
    rejects(
        {"bastion": {**BASTION, "allowed_cidrs": ["203.0.113.7/32", cidr]}},
        "bastion.allowed_cidrs[1]",
        accepted_text="no IPv6",
    )


def test_a_waf_cannot_sit_in_front_of_an_http_api():
    error = rejects({"front_end": "api-gateway", "waf": True}, "waf", accepted_text="HTTP APIs")
    assert "cannot be associated with a WAF" in str(error)
    assert validate({"waf": True}).waf is True


@pytest.mark.parametrize("interval", [2, -1, 120, True, "60"])
def test_monitoring_interval_is_one_rds_accepts(interval):
    rejects({"database": {"monitoring_interval": interval}}, "database.monitoring_interval", accepted_text="1, 5, 10")


def test_hardening_defaults():
    settings = validate({})
    assert (settings.alb_access_logs, settings.deletion_protection, settings.read_only_root_filesystem) == (
        True,
        True,
        True,
    )
    assert (settings.waf, settings.kms) == (False, False)


ECR_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"


@pytest.mark.parametrize(
    "args, read_only",
    [
        ({}, True),
        ({"container_image": "nginx:1.27"}, False),
        ({"container_image": ECR_IMAGE, "nat": False}, False),
        ({"app_path": "APP"}, False),
        ({"container_image": "nginx:1.27", "read_only_root_filesystem": True}, True),
        ({"read_only_root_filesystem": False}, False),
    ],
    ids=["default image", "own image", "isolated", "app path", "own image, set", "default image, unset"],
)
def test_a_read_only_root_is_the_default_for_the_default_image_only(args, read_only, tmp_path):
    # The default nginx image writes only where the tmpfs mounts are; an image of the user's own may write anywhere.
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    args = {key: str(tmp_path) if value == "APP" else value for key, value in args.items()}
    assert validate(args).read_only_root_filesystem is read_only


def test_the_database_takes_the_stacks_deletion_protection_unless_it_says_otherwise():
    assert validate({"database": {}}).database.deletion_protection is True
    assert validate({"database": {}, "deletion_protection": False}).database.deletion_protection is False
    kept = validate({"database": {"deletion_protection": True}, "deletion_protection": False})
    assert kept.database.deletion_protection is True and kept.deletion_protection is False
