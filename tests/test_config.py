"""Stack config to TinyStackArgs: types, unknown keys with their closest match, and errors naming the key."""

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import PUBLIC_KEY
from tinystack_component import TinyStackArgs, TinyStackArgsError
from tinystack_component.config import CONFIG_KEYS, args_from_config, as_engine_passes_it, config_key_for
from tinystack_component.plan.recording import resolve_secret
from tinystack_component.validation import validate

KEY = PUBLIC_KEY
ROOT = Path(__file__).resolve().parent.parent


def fails(raw: dict, key: str, *texts: str) -> TinyStackArgsError:
    with pytest.raises(TinyStackArgsError) as caught:
        args_from_config(raw)
    assert caught.value.config_key == key, str(caught.value)
    assert f"tinystack:{key}" in str(caught.value)
    for text in texts:
        assert text in str(caught.value)
    return caught.value


def test_strings_from_the_engine_become_typed_args():
    args = args_from_config(
        {
            "tinystack:frontEnd": "api-gateway",
            "tinystack:nat": "true",
            "tinystack:containerPort": "8080",
            "tinystack:availabilityZones": '["us-east-1a","us-east-1b"]',
            "tinystack:tags": '{"team":"web"}',
            "tinystack:database": '{"engine":"mysql","instanceClass":"db.t4g.small","multiAz":true}',
            "tinystack:bastion": json.dumps({"publicKey": KEY, "allowedCidrs": ["203.0.113.7/32"]}),
            "aws:region": "us-east-1",
        }
    )
    assert args["front_end"] == "api-gateway"
    assert args["nat"] is True and args["container_port"] == 8080
    assert args["availability_zones"] == ["us-east-1a", "us-east-1b"]
    assert args["tags"] == {"team": "web"}
    assert args["database"] == {"engine": "mysql", "instance_class": "db.t4g.small", "multi_az": True}
    assert args["bastion"]["allowed_cidrs"] == ["203.0.113.7/32"]


def test_typed_values_are_accepted_as_they_are():
    assert (
        args_from_config(
            {"containerPort": 8080, "nat": False, "containerImage": "1" * 12 + ".dkr.ecr.us-east-1.amazonaws.com/a:1"}
        )["nat"]
        is False
    )


def test_unknown_key_names_the_closest():
    error = fails({"tinystack:contanerPort": "8080"}, "contanerPort", "did you mean tinystack:containerPort")
    assert error.field == "contanerPort"


def test_unknown_nested_key_names_its_full_path():
    fails(
        {"tinystack:bastion": '{"publicKey":"x","alowedCidrs":["1.2.3.4/32"]}'},
        "bastion.alowedCidrs",
        "did you mean tinystack:bastion.allowedCidrs",
    )
    fails({"tinystack:database": '{"instanceClas":"db.t4g.micro"}'}, "database.instanceClas", "database.instanceClass")


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("containerPort", "eighty", "whole number"),
        ("containerPort", "true", "whole number"),
        ("nat", "yes", "true or false"),
        ("availabilityZones", "us-east-1a", "a list"),
        ("database", "postgres", "an object"),
        ("tags", '["a"]', "an object"),
        ("instanceCount", "2.5", "whole number"),
    ],
)
def test_wrong_types_name_the_key(key, value, expected):
    fails({f"tinystack:{key}": value}, key, expected, repr(value))


@pytest.mark.parametrize(
    ("raw", "key", "text"),
    [
        ({"tinystack:containerPort": "70000"}, "containerPort", "1 to 65535"),
        ({"tinystack:frontEnd": "nlb"}, "frontEnd", "'alb', 'api-gateway'"),
        ({"tinystack:vpcCidr": "10.0.0.0/8"}, "vpcCidr", "/16 to /24"),
        ({"tinystack:bastion": '{"publicKey":"nope","allowedCidrs":["1.2.3.4/32"]}'}, "bastion.publicKey", "OpenSSH"),
        (
            {"tinystack:bastion": json.dumps({"publicKey": KEY, "allowedCidrs": ["0.0.0.0/0"]})},
            "bastion.allowedCidrs[0]",
            "0.0.0.0/0",
        ),
        ({"tinystack:database": '{"engine":"oracle"}'}, "database.engine", "postgres"),
        ({"tinystack:tags": '{"Name":"x"}'}, "tags.Name", "Name"),
        ({"tinystack:containerEnvironment": '{"9X":"y"}'}, "containerEnvironment.9X", "variable name"),
    ],
)
def test_component_errors_carry_the_config_key(raw, key, text):
    fails(raw, key, text)


def test_config_key_for():
    assert config_key_for("container_port") == "containerPort"
    assert config_key_for("bastion.allowed_cidrs[2]") == "bastion.allowedCidrs[2]"
    assert config_key_for("database.backup_retention_days") == "database.backupRetentionDays"
    assert config_key_for("tags.cost_center") == "tags.cost_center"


def test_other_namespaces_are_ignored():
    assert args_from_config({"aws:region": "us-east-1", "pulumi:tags": "{}"}) == {}


def test_secret_environment_goes_to_secrets_manager_and_stays_secret():
    args = args_from_config(
        {
            "tinystack:containerEnvironment": '{"API_KEY":"s3cr3t"}',
            "tinystack:containerSecrets": '{"TOKEN":"t0k3n"}',
        },
        {"tinystack:containerEnvironment"},
    )
    assert "container_environment" not in args
    assert resolve_secret(args["container_secrets"]["API_KEY"]) == ("s3cr3t", True)
    assert resolve_secret(args["container_secrets"]["TOKEN"]) == ("t0k3n", False)


def test_optional_keys_declared_with_their_unset_default_leave_the_field_to_the_component():
    raw = {"tinystack:containerImage": "", "tinystack:maxCount": "0", "tinystack:availabilityZones": "[]"}
    raw |= {"tinystack:appPath": "", "tinystack:certificateArn": "", "tinystack:containerCpu": "0"}
    assert args_from_config(raw) == {}


def test_numbers_set_with_path_reach_text_fields_as_written():
    args = args_from_config(
        {
            "tinystack:database": '{"engine":"mysql","engineVersion":8.4,"allocatedStorage":30}',
            "tinystack:containerEnvironment": '{"PORT":8080,"DEBUG":true}',
            "tinystack:tags": '{"cost-center":1234}',
        }
    )
    assert args["database"] == {"engine": "mysql", "engine_version": "8.4", "allocated_storage": 30}
    assert args["container_environment"] == {"PORT": "8080", "DEBUG": "true"}
    assert args["tags"] == {"cost-center": "1234"}


def test_every_field_has_a_config_key():
    assert sorted(entry.field for entry in CONFIG_KEYS.values()) == sorted(TinyStackArgs.__annotations__)


def test_pulumi_yaml_declares_every_scalar_key_with_a_default():
    """The engine makes a declared key without a default mandatory, so each has the component's default or the
    config mapping's "not set" value."""
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    defaults = validate({})
    for key, entry in CONFIG_KEYS.items():
        if not entry.declared:
            assert key not in declared, "Pulumi.yaml cannot type objects, nor give a derived boolean a default"
            continue
        assert declared[key]["type"] == entry.kind, key
        assert declared[key]["description"], key
        expected = entry.unset if entry.unset is not None else getattr(defaults, entry.field)
        assert declared[key]["default"] == expected, key
    assert set(declared) == {key for key, entry in CONFIG_KEYS.items() if entry.declared}
    assert not CONFIG_KEYS["readOnlyRootFilesystem"].declared


def stack_args(stack_name: str) -> dict:
    stack = yaml.safe_load((ROOT / f"Pulumi.{stack_name}.yaml").read_text())["config"]
    return dict(args_from_config({key: as_engine_passes_it(value) for key, value in stack.items()}))


def test_dev_stack_config_is_valid():
    args = stack_args("dev")
    assert args["front_end"] == "alb" and args["database"]["engine"] == "postgres"


def test_prod_stack_has_multi_az_database_https_and_no_bastion():
    args = stack_args("prod")
    assert args["database"]["multi_az"] is True and args["database"]["deletion_protection"] is True
    assert args["certificate_arn"].startswith("arn:aws:acm:")
    assert "bastion" not in args
