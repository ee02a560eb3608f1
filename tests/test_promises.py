"""The seed's security promises, checked with the plan's reachability analysis on every real variant."""

import pytest

from tests.conftest import BASTION, CERTIFICATE, VARIANTS
from tinystack_component.plan.reachability import find_edges
from tinystack_component.plan.violations import find_violations

FULL = {"database": {"engine": "mysql"}, "bastion": BASTION}
CASES = {
    **{name: args for name, args in VARIANTS.items()},
    **{f"{name}-db-bastion": {**args, **FULL} for name, args in VARIANTS.items()},
    **{f"{name}-db-session-manager": {**args, **FULL, "bastion": {}} for name, args in VARIANTS.items()},
    "alb-https-db": {"certificate_arn": CERTIFICATE, "database": {}},
}


@pytest.mark.parametrize("case", CASES)
def test_promises_hold(build, case):
    args = {**CASES[case], "container_port": 8080}
    stack = build(args)
    edges = {(edge.source, edge.target): edge for edge in find_edges(stack.resources)}
    front_end = "load-balancer" if "api-gateway" not in str(args.get("front_end")) else "api-gateway (vpc link)"

    # Only the front end (and, when configured, the bastion on 22 from the allowed CIDRs) faces the internet.
    from_internet = {target: edge for (source, target), edge in edges.items() if source == "internet"}
    # The Session Manager bastion has no inbound rule at all: nothing reaches it.
    ssh_bastion = bool(args.get("bastion", {}).get("public_key"))
    allowed = {front_end, "bastion"} if ssh_bastion else {front_end}
    assert set(from_internet) == allowed
    assert set(from_internet[front_end].ports) <= {"80", "443"}
    assert ssh_bastion or not [edge for (_, target), edge in edges.items() if target == "bastion"]
    if ssh_bastion:
        assert from_internet["bastion"].ports == ("22",)
        assert from_internet["bastion"].sources == ("203.0.113.7/32",)

    # Only the front end reaches the containers, on the container port alone.
    into_containers = {
        source: edge.ports for (source, target), edge in edges.items() if target == "container-instances"
    }
    assert into_containers == {front_end: ("8080",)}

    # Only the containers and the bastion reach the database, on its one port.
    if "database" in args:
        port = "3306" if args["database"].get("engine") == "mysql" else "5432"
        into_database = {source: edge.ports for (source, target), edge in edges.items() if target == "database"}
        expected = {"container-instances": (port,)}
        if "bastion" in args:
            expected["bastion"] = (port,)
        assert into_database == expected

    # Isolated subnets have no way out.
    if args.get("nat") is False:
        assert ("container-instances", "internet") not in edges
    assert find_violations(stack.resources, list(edges.values())) == []
