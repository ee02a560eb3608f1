"""The diagram: AZ and subnet boxes from the recorded resources, arrows from a hand-made edge list."""

import os
import re
import subprocess

import pytest

from tinystack_component.plan import diagram
from tinystack_component.plan import topology as t
from tinystack_component.plan.diagram import dot, layout, mermaid, write_diagram
from tinystack_component.plan.reachability import Edge

from .plan_fixtures import alb, containers, database, nat_instance, network

EDGES = [
    Edge("internet", "load-balancer", ("80",), ("0.0.0.0/0",)),
    Edge("load-balancer", "container-instances", ("8080",)),
    Edge("container-instances", "database", ("5432",)),
    Edge("container-instances", "nat-instance", ("all",)),
]


@pytest.fixture
def stack():
    return network() + nat_instance() + containers() + alb() + database()


def subgraph(text: str, title: str) -> str:
    """The lines of the Mermaid subgraph with this title, up to its `end`."""
    lines = text.splitlines()
    start = next(index for index, line in enumerate(lines) if line.strip().endswith(f'["{title}"]'))
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    end = lines.index(f"{indent}end", start)
    return "\n".join(lines[start : end + 1])


def test_one_subgraph_per_az_holding_its_public_and_app_subnet(stack):
    text = mermaid(layout(stack, EDGES))
    for index, zone in enumerate(("us-east-1a", "us-east-1b", "us-east-1c"), start=1):
        zone_box = subgraph(text, zone)
        assert f'["public subnet public-{index} 10.0.{200 + index}.0/24"]' in zone_box
        assert f'["app subnet app-{index} 10.0.{index}.0/24"]' in zone_box


def test_single_subnet_resources_sit_in_their_subnet(stack):
    text = mermaid(layout(stack, EDGES))
    assert 'n_nat_instance["NAT instance<br/>t4g.nano"]' in subgraph(text, "public subnet public-1 10.0.201.0/24")


def test_resources_spanning_subnets_have_a_node_in_each(stack):
    text = mermaid(layout(stack, EDGES))
    for index in (1, 2, 3):
        app = subgraph(text, f"app subnet app-{index} 10.0.{index}.0/24")
        assert '["ECS instance"]' in app
        assert '[("DB subnet")]' in app
        assert '["ALB node"]' in subgraph(text, f"public subnet public-{index} 10.0.{200 + index}.0/24")
    assert 'n_container_instances["ECS container instances<br/>ASG 3 x t3.small"]' in text
    assert re.search(r"n_container_instances -\.- n_container_instances_web_app_1", text)


def test_an_alb_declared_through_the_aws_alb_module_is_drawn_in_its_subnets():
    (balancer,) = alb()
    balancer.type = "aws:alb/loadBalancer:LoadBalancer"
    text = mermaid(layout([*network(), balancer], EDGES))
    assert 'n_load_balancer["Application Load Balancer<br/>internet-facing"]' in text
    for index in (1, 2, 3):
        assert '["ALB node"]' in subgraph(text, f"public subnet public-{index} 10.0.{200 + index}.0/24")


def test_a_load_balancer_placed_by_subnet_mappings_is_drawn_in_those_subnets():
    (balancer,) = alb()
    balancer.inputs["subnetMappings"] = [{"subnetId": subnet} for subnet in balancer.inputs.pop("subnets")]
    text = mermaid(layout([*network(), balancer], EDGES))
    for index in (1, 2, 3):
        assert '["ALB node"]' in subgraph(text, f"public subnet public-{index} 10.0.{200 + index}.0/24")


def test_arrows_carry_the_ports_of_the_edges(stack):
    text = mermaid(layout(stack, EDGES))
    assert 'n_internet -->|"80"| n_load_balancer' in text
    assert 'n_load_balancer -->|"8080"| n_container_instances' in text
    assert 'n_container_instances -->|"5432"| n_database' in text
    assert 'n_container_instances -->|"all"| n_nat_instance' in text


def test_edge_endpoints_without_resources_still_get_a_node():
    text = mermaid(layout(network(), [Edge("internet", "bastion", ("22",))]))
    assert 'n_bastion["bastion"]' in text
    assert 'n_internet -->|"22"| n_bastion' in text


def test_a_default_route_written_inside_the_route_table_makes_a_subnet_public():
    resources = [r for r in network() if r.type != t.ROUTE]
    (table,) = [r for r in resources if r.type == t.ROUTE_TABLE]
    table.inputs["routes"] = [{"cidrBlock": "0.0.0.0/0", "gatewayId": "id:igw"}]
    text = mermaid(layout(resources, []))
    assert '["public subnet public-1 10.0.201.0/24"]' in subgraph(text, "us-east-1a")


def test_empty_subnets_say_so():
    assert '["no resources"]' in subgraph(mermaid(layout(network(), [])), "app subnet app-2 10.0.2.0/24")


def test_dot_graph_is_equivalent(stack):
    graph = dot(layout(stack, EDGES), "TinyStack test")
    assert graph.startswith('digraph "TinyStack test" {')
    for zone in ("us-east-1a", "us-east-1b", "us-east-1c"):
        assert f'label="{zone}";' in graph
    assert 'n_load_balancer -> n_container_instances [label="8080"];' in graph
    assert graph.count("{") == graph.count("}")


def test_writes_markdown_and_skips_svg_without_graphviz(stack, tmp_path, monkeypatch):
    monkeypatch.setattr(diagram.shutil, "which", lambda _: None)
    files = write_diagram(stack, EDGES, "dev", tmp_path / "plan")
    assert files.markdown == tmp_path / "plan" / "dev.md"
    assert files.svg is None
    content = files.markdown.read_text()
    assert "```mermaid\nflowchart TB\n" in content
    assert not (tmp_path / "plan" / "dev.svg").exists()


def test_writes_svg_when_dot_is_on_path(stack, tmp_path, monkeypatch):
    fake_dot = tmp_path / "bin" / "dot"
    fake_dot.parent.mkdir()
    fake_dot.write_text('#!/bin/sh\ncat > "$3"\n')  # called as: dot -Tsvg -o <path>
    fake_dot.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_dot.parent}{os.pathsep}{os.environ['PATH']}")
    files = write_diagram(stack, EDGES, "dev", tmp_path)
    assert files.svg == tmp_path / "dev.svg"
    assert files.svg.read_text().startswith("digraph")


def test_a_failing_dot_never_fails_the_plan(stack, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise subprocess.CalledProcessError(1, "dot")

    monkeypatch.setattr(diagram.shutil, "which", lambda _: "/usr/bin/dot")
    monkeypatch.setattr(diagram.subprocess, "run", broken)
    assert write_diagram(stack, EDGES, "dev", tmp_path).svg is None
