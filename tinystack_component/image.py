"""Build from source: the Dockerfile in `app_path`, built and pushed to a new private ECR repository with awsx.

Private ECR in the stack's own region is also what makes isolated mode work: the pull goes through the ecr.api,
ecr.dkr and s3 endpoints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_awsx as awsx

from .context import StackContext
from .instance_types import architecture

IMAGES_KEPT = 10


@dataclass(frozen=True)
class AppImage:
    """What the task runs, and the one ECR repository its execution role may pull from (None: a public image)."""

    uri: pulumi.Input[str]
    repository_arn: Optional[pulumi.Input[str]]


def ecr_repository_arn(image: str) -> str:
    """The ARN of a private ECR image's repository, from its reference or the repository URL."""
    host, _, path = image.partition("/")
    account, _, _, region, *_ = host.split(".")
    repository = re.split(r"[:@]", path, maxsplit=1)[0]
    partition = "aws-cn" if host.endswith(".cn") else "aws"
    return f"arn:{partition}:ecr:{region}:{account}:repository/{repository}"


def build_image(ctx: StackContext, app_path: str, instance_type: str) -> AppImage:
    repository = awsx.ecr.Repository(
        ctx.child("repository"),
        image_scanning_configuration={"scan_on_push": True},
        image_tag_mutability="MUTABLE",
        force_delete=False,
        lifecycle_policy={
            "rules": [
                {
                    "tag_status": awsx.ecr.LifecycleTagStatus.ANY,
                    "maximum_number_of_images": IMAGES_KEPT,
                    "description": f"Keep the last {IMAGES_KEPT} images",
                }
            ]
        },
        tags=ctx.tags("repository"),
        opts=ctx.opts(),
    )
    image = awsx.ecr.Image(
        ctx.child("image"),
        repository_url=repository.url,
        context=app_path,
        # The image must run on the container instances' CPU: arm64 for Graviton types.
        platform="linux/arm64" if architecture(instance_type) == "arm64" else "linux/amd64",
        opts=ctx.opts(),
    )
    # The image URI is known only once it is pushed; the repository, and so the pull permission, before.
    return AppImage(image.image_uri, repository.url.apply(ecr_repository_arn))
