"""The Pulumi program: stack config in, one TinyStack out, every output exported."""

import runpy
from pathlib import Path

import pulumi
import pytest

from tests.conftest import CERTIFICATE
from tinystack_component import TinyStack, TinyStackArgsError

MAIN = Path(__file__).resolve().parent.parent / "__main__.py"


def run_main(build, config: dict[str, str]):
    def program():
        pulumi.runtime.set_all_config({"aws:region": "us-east-1", **config})
        runpy.run_path(str(MAIN), run_name="__main__")
        return pulumi.runtime.get_root_resource()

    root, recorded = build.program(program)
    return root, recorded


def test_program_builds_one_stack_from_config_and_exports_every_output(build):
    root, recorded = run_main(
        build,
        {
            "tinystack:containerPort": "8080",
            "tinystack:nat": "false",
            "tinystack:containerImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/a:1",
        },
    )
    (component,) = [r for r in recorded if r.type == "tinystack:index:TinyStack"]
    assert component.name == "tinystack"
    assert set(root.outputs) == set(TinyStack.__annotations__)
    assert not [r for r in recorded if r.name == "tinystack-nat-asg"]


def test_program_fails_on_a_typo_before_creating_anything(build):
    with pytest.raises(TinyStackArgsError, match=r"tinystack:contanerPort.*did you mean tinystack:containerPort"):
        run_main(build, {"tinystack:contanerPort": "8080"})
    assert build.mocks.inputs == {}


@pytest.mark.parametrize(
    "config, config_key",
    [
        # A default zone (the parent domain) that is private: the error is about domainName.
        ({"tinystack:domainName": "app.internal.example.com"}, "domainName"),
        (
            {"tinystack:domainName": "app.internal.example.com", "tinystack:hostedZone": "Z0EXAMPLE0PRIVATE0ZONE"},
            "hostedZone",
        ),
        ({"tinystack:certificateArn": CERTIFICATE.replace("us-east-1", "eu-west-1")}, "certificateArn"),
    ],
    ids=["derived-zone", "hosted-zone", "certificate-region"],
)
def test_errors_of_the_components_look_ups_name_the_config_key(build, config, config_key):
    with pytest.raises(TinyStackArgsError) as caught:
        run_main(build, config)
    assert caught.value.config_key == config_key and f"(config key tinystack:{config_key})" in str(caught.value)
    assert [typ for typ, _ in build.mocks.inputs] == ["tinystack:index:TinyStack"]
