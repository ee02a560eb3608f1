"""The plan's failure analysis: what losing each AZ leaves working, from the recorded resources."""

import pytest

from tinystack_component.plan.failure import failure_analysis

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
SINGLE_AZ_DB = {"database": {"engine": "postgres"}}
MULTI_AZ_DB = {"database": {"engine": "postgres", "multi_az": True}}


def by_zone(stack):
    return {loss.lost_zone: loss for loss in failure_analysis(stack.resources)}


def test_a_single_nat_loses_egress_everywhere_with_its_az(build):
    losses = by_zone(build(SINGLE_AZ_DB))
    assert list(losses) == list(ZONES)
    assert losses["us-east-1a"].egress == {"us-east-1b": False, "us-east-1c": False}
    assert losses["us-east-1b"].egress == {"us-east-1a": True, "us-east-1c": True}
    assert all(loss.serving for loss in losses.values())
    assert all(loss.database is False for loss in losses.values())


@pytest.mark.parametrize(("database", "survives"), [(SINGLE_AZ_DB, False), (MULTI_AZ_DB, True), ({}, None)])
def test_a_nat_per_az_keeps_egress_in_every_surviving_az(build, database, survives):
    losses = by_zone(build({"nat_high_availability": True, **database}))
    for zone, loss in losses.items():
        assert loss.egress == {other: True for other in ZONES if other != zone}
        assert loss.serving is True
        assert loss.database is survives


def test_isolated_subnets_have_no_egress_to_lose(build):
    losses = by_zone(build({"nat": False, "container_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"}))
    assert all(not any(loss.egress.values()) for loss in losses.values())


def test_without_the_nat_group_a_takeover_is_not_counted(build):
    stack = build({"nat_high_availability": True})
    resources = [r for r in stack.resources if r.name not in ("web-nat-2-asg", "web-nat-3-asg")]
    losses = {loss.lost_zone: loss for loss in failure_analysis(resources)}
    assert losses["us-east-1b"].egress == {"us-east-1a": True, "us-east-1c": True}  # their own NATs
    assert losses["us-east-1a"].egress["us-east-1b"] is True  # NAT 2's interface is still in 1b
