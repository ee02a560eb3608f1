"""Least privilege over every role of the stack: no write action on "Resource": "*" unless the allow-list says why."""

import json

import pytest

from tests.conftest import EVERYTHING, VARIANTS
from tinystack_component.roles import MANAGED_POLICIES, WILDCARD_WRITE_ACTIONS

# Access levels List and Read; everything else (Write, Permissions management, Tagging) is a write.
READ_VERBS = ("Get", "Describe", "List", "BatchGet", "BatchCheck")
POLICY_TYPES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy", "aws:iam/userPolicy:UserPolicy")
ATTACHMENT_TYPES = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/policyAttachment:PolicyAttachment")


def documents(stack):
    """(where, policy document) for every inline policy of the stack, whatever resource carries it."""
    for resource in stack.resources:
        if resource.type in POLICY_TYPES:
            yield resource.name, json.loads(resource.inputs["policy"])
        if resource.type == "aws:iam/role:Role":
            for inline in resource.inputs.get("inlinePolicies") or []:
                yield resource.name, json.loads(inline["policy"])


def _listed(value):
    return value if isinstance(value, list) else [value]


def wildcard_writes(document):
    for statement in _listed(document["Statement"]):
        if statement["Effect"] != "Allow" or "*" not in _listed(statement.get("Resource", [])):
            continue
        for action in _listed(statement["Action"]):
            verb = action.split(":", 1)[1]
            if action == "*" or verb == "*" or not verb.startswith(READ_VERBS):
                yield action


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_write_action_of_any_role_reaches_every_resource_unless_allow_listed(build, variant):
    stack = build({**VARIANTS[variant], **EVERYTHING})
    found = list(documents(stack))
    # Every inline policy of the stack is examined, and every role has its permissions in one of them or in an
    # allow-listed managed policy: nothing a role may do escapes the check.
    policies = [r for r in stack.resources if r.type in POLICY_TYPES]
    assert sorted(where for where, _ in found) == sorted(r.name for r in policies)
    roles = stack.of_type("aws:iam/role:Role")
    with_policies = {r.inputs["role"] for r in policies} | {
        r.inputs["role"] for r in stack.resources if r.type in ATTACHMENT_TYPES
    }
    assert {role.id for role in roles} | {role.outputs["name"] for role in roles} >= with_policies
    for role in roles:
        assert {role.id, role.outputs["name"]} & with_policies, f"{role.name} has no policy to examine"
    for where, document in found:
        unlisted = [action for action in wildcard_writes(document) if action not in WILDCARD_WRITE_ACTIONS]
        assert not unlisted, f"{where}: {unlisted} on Resource *"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_managed_policy_of_any_role_is_allow_listed_with_a_reason(build, variant):
    stack = build({**VARIANTS[variant], **EVERYTHING})
    arns = [r.inputs["policyArn"] for r in stack.resources if r.type in ATTACHMENT_TYPES]
    arns += [
        arn for r in stack.resources if r.type == "aws:iam/role:Role" for arn in r.inputs.get("managedPolicyArns") or []
    ]
    assert arns
    assert set(arns) <= set(MANAGED_POLICIES), set(arns) - set(MANAGED_POLICIES)


def test_the_allow_list_detects_a_broad_write():
    document = {
        "Statement": [{"Effect": "Allow", "Action": ["logs:PutLogEvents", "ecr:BatchGetImage"], "Resource": "*"}]
    }
    assert list(wildcard_writes(document)) == ["logs:PutLogEvents"]
    assert list(wildcard_writes({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": ["*"]}})) == ["s3:*"]


def test_every_allow_listed_entry_says_why():
    assert all(len(reason) > 20 for reason in {**WILDCARD_WRITE_ACTIONS, **MANAGED_POLICIES}.values())


ECS_AGENT_ACTIONS_ON_ANY_INSTANCE = {"ecs:Poll", "ecs:StartTelemetrySession"}


def test_the_agents_actions_on_any_instance_are_held_to_the_stacks_cluster(build):
    stack = build()
    cluster_arn = stack.named("web-cluster").outputs["arn"]
    statements = [
        statement
        for _, document in documents(stack)
        for statement in _listed(document["Statement"])
        if ECS_AGENT_ACTIONS_ON_ANY_INSTANCE & set(_listed(statement["Action"]))
    ]
    assert statements
    for statement in statements:
        assert statement["Condition"] == {"ArnEquals": {"ecs:cluster": cluster_arn}}


def test_managed_policies_are_attached_in_the_providers_partition(build):
    build.mocks.region, build.mocks.partition = "us-gov-west-1", "aws-us-gov"
    build.mocks.zone_names = ["us-gov-west-1a", "us-gov-west-1b", "us-gov-west-1c"]
    stack = build({"database": {"monitoring_interval": 60}})
    arns = sorted(r.inputs["policyArn"] for r in stack.resources if r.type in ATTACHMENT_TYPES)
    assert arns and all(arn.startswith("arn:aws-us-gov:iam::aws:policy/") for arn in arns), arns
    (lookup,) = [i for i in stack.invokes if i.token == "aws:index/getPartition:getPartition"]
    assert lookup.args == {}
