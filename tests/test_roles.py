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
    assert len(found) >= 4
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
