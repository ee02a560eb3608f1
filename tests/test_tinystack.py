"""Component conventions: type token, parentage, names, tags, outputs, invokes through the consumer's provider."""

import importlib
import inspect
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from tests.conftest import API_GATEWAY, BASTION, CERTIFICATE, ISOLATED
from tinystack_component import TinyStack, TinyStackArgsError


def test_type_token_and_signature():
    parameters = list(inspect.signature(TinyStack.__init__).parameters)
    assert parameters == ["self", "name", "args", "opts"]
    stack_type = TinyStack.__init__.__annotations__["args"].__name__
    assert stack_type == "TinyStackArgs"


@pytest.mark.parametrize("args", [{}, ISOLATED])
def test_every_child_is_parented_to_the_component_and_named_after_it(build, args):
    stack = build(args, name="shop")
    (component,) = [r for r in stack.resources if r.type == "tinystack:index:TinyStack"]
    assert component.name == "shop"
    children = [r for r in stack.resources if r is not component]
    assert children
    for child in children:
        assert child.parent_urn == component.urn, child.name
        assert child.name.startswith("shop-"), child.name


def _accepts_tags(resource_type: str) -> bool:
    """Whether the type declares a `tags` input: a property of its Args class (pulumi_aws's inputs)."""
    _, module_path, class_name = resource_type.split(":")
    module = importlib.import_module(f"pulumi_aws.{module_path.split('/')[0]}")
    args_class = getattr(module, f"{class_name}Args")
    return isinstance(inspect.getattr_static(args_class, "tags", None), property)


def _tags(declared: Any) -> dict[str, str]:
    """A type's tags as a map: most take one; an Auto Scaling group takes a list of {key, value, propagateAtLaunch}."""
    if isinstance(declared, list):
        return {tag["key"]: tag["value"] for tag in declared if tag.get("propagateAtLaunch")}
    return declared


def test_taggable_is_decided_from_each_types_declared_inputs():
    assert _accepts_tags("aws:ec2/vpc:Vpc") and _accepts_tags(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    )
    assert not _accepts_tags("aws:ec2/route:Route")
    assert not _accepts_tags("aws:iam/rolePolicyAttachment:RolePolicyAttachment")


@pytest.mark.parametrize("args", [{}, ISOLATED])
def test_every_taggable_child_gets_the_user_tags_and_a_name(build, args):
    stack = build({**args, "tags": {"team": "payments", "env": "dev"}})
    taggable = [resource for resource in stack.aws_resources() if _accepts_tags(resource.type)]
    # Most of the stack is taggable: a judgement that finds (almost) nothing taggable checks nothing.
    assert len({resource.type for resource in taggable}) >= 20
    assert len(taggable) >= len(stack.aws_resources()) * 2 // 3
    for resource in taggable:
        tags = _tags(resource.inputs.get("tags", {}))
        assert tags.get("team") == "payments" and tags.get("env") == "dev", resource.name
        assert tags.get("Name", "").startswith("web-"), resource.name


def test_network_outputs(build):
    stack = build()
    assert stack.output("vpc_id") == stack.named("web-vpc").id
    assert stack.output("public_subnet_ids") == [stack.named(f"web-public-{n}").id for n in (1, 2, 3)]
    assert stack.output("private_subnet_ids") == [stack.named(f"web-app-{n}").id for n in (1, 2, 3)]
    assert stack.output("subnet_kind") == "private"
    assert stack.output("nat_public_ips") == ["198.51.100.20"]
    assert build(ISOLATED).output("subnet_kind") == "isolated"


def test_outputs_are_declared_with_docstrings():
    source = inspect.getsource(TinyStack)
    for name, annotation in TinyStack.__annotations__.items():
        assert "Output" in str(annotation), name
        assert f"{name}: pulumi.Output" in source and '"""' in source.split(f"{name}: pulumi.Output", 1)[1][:200]


def test_bad_args_fail_before_anything_is_registered(build):
    with pytest.raises(TinyStackArgsError, match="container_port"):
        build({"container_port": 70000})
    assert build.mocks.inputs == {}


# Every kind of child and invoke: HTTPS listeners, database and bastion; API Gateway, endpoints and another engine.
PROVIDER_CASES = {
    "providers-map": ({"certificate_arn": CERTIFICATE, "database": {"engine": "postgres"}, "bastion": BASTION}, "map"),
    "providers-list": ({**API_GATEWAY, **ISOLATED, "database": {"engine": "mysql"}}, "list"),
    "provider": ({}, "provider"),
    # The zone look-up, the certificate and its records, the alias and the API domain.
    "providers-map-api-domain": ({**API_GATEWAY, "domain_name": "app.example.com"}, "map"),
    "provider-alb-domain": ({"domain_name": "app.example.com"}, "provider"),
}


@pytest.mark.parametrize(("args", "form"), PROVIDER_CASES.values(), ids=PROVIDER_CASES.keys())
def test_invokes_and_children_use_the_consumers_provider(build, args, form):
    def program():
        provider = aws.Provider("eu", region="eu-west-1")
        options = {
            "map": pulumi.ResourceOptions(providers={"aws": provider}),
            "list": pulumi.ResourceOptions(providers=[provider]),
            "provider": pulumi.ResourceOptions(provider=provider),
        }[form]
        return TinyStack("web", args, options)

    _, recorded = build.program(program)
    provider_ref = next(r for r in recorded if r.name == "eu")
    assert {invoke.token.rsplit(":", 1)[-1] for invoke in build.mocks.invokes} >= {
        "getRegion",
        "getAvailabilityZones",
        "getParameter",
        *(["getZone"] if "domain_name" in args else []),
    }
    if "domain_name" in args:
        domain_types = {"aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation"}
        domain_types |= {"aws:route53/record:Record"}
        if args.get("front_end") == API_GATEWAY["front_end"]:
            domain_types |= {"aws:apigatewayv2/domainName:DomainName", "aws:apigatewayv2/apiMapping:ApiMapping"}
        assert domain_types <= {r.type for r in recorded}
    assert len([r for r in recorded if r.type.startswith("aws:")]) > 50
    for invoke in build.mocks.invokes:
        assert invoke.provider.startswith(provider_ref.urn), invoke.token
    for resource in recorded:
        if resource.type.startswith("aws:") and resource.type != "pulumi:providers:aws":
            assert resource.options["provider"].startswith(provider_ref.urn), resource.name


def test_an_isolated_stack_refuses_an_image_from_another_region(build):
    with pytest.raises(TinyStackArgsError, match="region us-east-1") as caught:
        build({"nat": False, "container_image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1"})
    assert caught.value.field == "container_image"
