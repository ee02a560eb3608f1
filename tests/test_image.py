"""Build from source: app_path → awsx ECR repository and image → the task's image."""

import json

import pytest

from tinystack_component import TinyStackArgsError


@pytest.fixture
def app(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM public.ecr.aws/nginx/nginx:stable\n")
    return str(tmp_path)


@pytest.mark.parametrize("nat", [True, False])
def test_app_path_is_built_into_private_ecr_and_run(build, app, nat):
    stack = build({"app_path": app, "nat": nat})
    repository = stack.named("web-repository")
    assert repository.type == "awsx:ecr:Repository"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    (rule,) = repository.inputs["lifecyclePolicy"]["rules"]
    assert rule["tagStatus"] == "any" and rule["maximumNumberOfImages"] == 10
    image = stack.named("web-image")
    assert image.type == "awsx:ecr:Image"
    assert image.inputs["context"] == app
    assert image.inputs["repositoryUrl"] == repository.outputs["url"]
    assert image.inputs["platform"] == "linux/amd64"
    (container,) = stack.container_definitions()
    assert container["image"] == image.outputs["imageUri"]
    assert container["image"].startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/")


def test_the_task_pulls_only_from_the_repository_it_built(build, app):
    stack = build({"app_path": app})
    _, token, pull = json.loads(stack.named("web-task-execution-policy").inputs["policy"])["Statement"]
    assert token["Action"] == "ecr:GetAuthorizationToken"
    # The image is an Output, but the repository is the stack's own: its ARN, not "*".
    assert pull["Resource"] == "arn:aws:ecr:us-east-1:123456789012:repository/web-repository"


def test_graviton_instances_get_an_arm64_image(build, app):
    stack = build({"app_path": app, "instance_type": "t4g.small"})
    assert stack.named("web-image").inputs["platform"] == "linux/arm64"


def test_app_path_and_container_image_together_are_refused(build, app):
    with pytest.raises(TinyStackArgsError, match="not both"):
        build({"app_path": app, "container_image": "nginx"})


def test_no_repository_without_app_path(build):
    assert build().maybe("web-repository") is None
