"""What every tier needs to create children the same way: names, parent and tags derived from the component."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

# One retention for every log group the stack creates: finite, so logs never grow without bound.
LOG_RETENTION_DAYS = 30


@dataclass(frozen=True)
class StackContext:
    name: str
    parent: pulumi.Resource
    user_tags: Mapping[str, str]
    # Invoke results by key, so tiers that need the same look-up (an AMI parameter) share one call.
    lookups: dict[str, pulumi.Output[Any]] = field(default_factory=dict, compare=False)
    # The stack's customer-managed key (kms: true): every log group and app secret is encrypted with it.
    encryption_key: Optional[aws.kms.Key] = field(default=None, compare=False)

    def child(self, suffix: str) -> str:
        """The logical name of a child: the component's name, then what the child is."""
        return f"{self.name}-{suffix}"

    def tags(self, suffix: str) -> dict[str, str]:
        return {**self.user_tags, "Name": self.child(suffix)}

    def opts(self, **options: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self.parent, **options)

    def lookup(self, key: str, fetch: Callable[[], pulumi.Output[Any]]) -> pulumi.Output[Any]:
        """One invoke per stack for what several tiers need (an AMI parameter, the account id, the partition)."""
        if key not in self.lookups:
            self.lookups[key] = fetch()
        return self.lookups[key]

    def invoke_opts(self) -> pulumi.InvokeOptions:
        return pulumi.InvokeOptions(parent=self.parent)

    def invoke_output_opts(self) -> pulumi.InvokeOutputOptions:
        return pulumi.InvokeOutputOptions(parent=self.parent)
