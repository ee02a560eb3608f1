"""A diagram of the stack as built: a Mermaid flowchart in `<out>/<stack>.md`, and `<stack>.svg` when Graphviz is here.

Both come from one layout derived from the recorded resources: a box per AZ holding its public and app subnets,
the endpoints of the reachability analysis placed in the subnets they occupy, and an arrow per reachability edge
labelled with its ports. An endpoint that spans several subnets is drawn once in the VPC, with a dotted line to a
small node in each of its subnets.
"""

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from . import topology as t
from .reachability import Edge, ResourcesOrTopology, as_topology
from .recording import Recorded

INTERNET = "internet"


@dataclass(frozen=True)
class Node:
    id: str
    lines: tuple[str, ...]
    shape: str = "box"  # box, circle or cylinder


@dataclass
class Box:
    id: str
    title: str
    nodes: list[Node] = field(default_factory=list)
    boxes: list["Box"] = field(default_factory=list)


@dataclass(frozen=True)
class Placement:
    """Where an endpoint of the reachability analysis sits, and what its node says."""

    endpoint: str
    lines: tuple[str, ...]
    member: str  # label of its node in each subnet, when it spans several
    subnet_ids: tuple[str, ...]
    shape: str = "box"


@dataclass
class Layout:
    vpc: Box
    outside: list[Node]
    members: list[tuple[str, str]]  # (endpoint node id, member node id): dotted lines
    arrows: list[tuple[str, str, str]]  # (from id, to id, label)


@dataclass(frozen=True)
class DiagramFiles:
    markdown: Path
    svg: Optional[Path]


def node_id(name: str) -> str:
    return "n_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def placements(resources: Sequence[Recorded]) -> list[Placement]:
    """Every endpoint the stack has, with the subnets it occupies."""
    found: list[Placement] = []
    for balancer in t.of_type(resources, *t.LOAD_BALANCERS):
        scheme = "internal" if balancer.inputs.get("internal") else "internet-facing"
        subnets = tuple(balancer.inputs.get("subnets") or ())
        found.append(Placement("load-balancer", ("Application Load Balancer", scheme), "ALB node", subnets))
    for link in t.of_type(resources, t.VPC_LINK):
        subnets = tuple(link.inputs.get("subnetIds") or ())
        found.append(Placement("api-gateway (vpc link)", ("API Gateway HTTP API", "VPC link"), "VPC link", subnets))
    for group in t.of_type(resources, t.AUTOSCALING_GROUP):
        template = t.launch_template_of(group, resources)
        kind = template.inputs.get("instanceType", "?") if template else "?"
        lines = ("ECS container instances", f"ASG {t.desired_capacity(group)} x {kind}")
        found.append(
            Placement("container-instances", lines, "ECS instance", tuple(group.inputs.get("vpcZoneIdentifiers") or ()))
        )
    for database in t.of_type(resources, t.DB_INSTANCE):
        layout = ", Multi-AZ" if database.inputs.get("multiAz") else ""
        lines = (f"RDS {database.inputs.get('engine', '')}".strip(), f"{database.inputs.get('instanceClass')}{layout}")
        subnets = tuple(t.subnet_group_subnets(resources, database.inputs.get("dbSubnetGroupName")))
        found.append(Placement("database", lines, "DB subnet", subnets, "cylinder"))
    found += _egress_and_access(resources)
    return found


def _egress_and_access(resources: Sequence[Recorded]) -> list[Placement]:
    found = [
        Placement("nat-instance", ("NAT instance", nat.inputs.get("instanceType", "")), "", _subnet_of(nat))
        for nat in t.nat_instances(resources)
    ]
    endpoints = t.interface_endpoints(resources)
    if endpoints:
        subnets = sorted({subnet for endpoint in endpoints for subnet in endpoint.inputs.get("subnetIds") or ()})
        lines = ("VPC interface endpoints", f"{len(endpoints)} services")
        found.append(Placement("vpc-endpoints", lines, "endpoint ENIs", tuple(subnets)))
    found += [
        Placement("bastion", ("bastion", bastion.inputs.get("instanceType", "")), "", _subnet_of(bastion))
        for bastion in t.bastions(resources)
    ]
    return found


def _subnet_of(instance: Recorded) -> tuple[str, ...]:
    subnet = instance.inputs.get("subnetId")
    return (subnet,) if subnet else ()


def layout(resources_or_topology: ResourcesOrTopology, edges: Sequence[Edge]) -> Layout:
    topology = as_topology(resources_or_topology)
    resources = topology.resources
    public_ids = {subnet.id for subnet in topology.public_subnets()}
    subnet_boxes = _subnet_boxes(resources, public_ids)
    vpc = Box("g_vpc", _vpc_title(resources), boxes=_zone_boxes(resources, subnet_boxes, public_ids))
    members: list[tuple[str, str]] = []
    placed = {INTERNET}
    for place in placements(resources):
        placed.add(place.endpoint)
        own = Node(node_id(place.endpoint), place.lines, place.shape)
        boxes = [subnet_boxes[subnet] for subnet in place.subnet_ids if subnet in subnet_boxes]
        if len(boxes) == 1:
            boxes[0].nodes.append(own)
            continue
        vpc.nodes.append(own)
        for box in boxes:
            member = Node(f"{own.id}_{box.id.removeprefix('g_')}", (place.member,), place.shape)
            box.nodes.append(member)
            members.append((own.id, member.id))
    outside = [Node(node_id(INTERNET), (INTERNET,), "circle")]
    outside += [Node(node_id(name), (name,)) for name in _edge_endpoints(edges) if name not in placed]
    arrows = [(node_id(edge.source), node_id(edge.target), ", ".join(edge.ports)) for edge in edges]
    _fill_empty(vpc)
    return Layout(vpc, outside, members, arrows)


def _edge_endpoints(edges: Sequence[Edge]) -> list[str]:
    return sorted({name for edge in edges for name in (edge.source, edge.target)})


def _vpc_title(resources: Sequence[Recorded]) -> str:
    vpcs = t.of_type(resources, t.VPC)
    return f"VPC {vpcs[0].inputs.get('cidrBlock', '')}".strip() if vpcs else "VPC"


def _subnet_boxes(resources: Sequence[Recorded], public_ids: set[str]) -> dict[str, Box]:
    boxes = {}
    for subnet in t.of_type(resources, t.SUBNET):
        kind = "public" if subnet.id in public_ids else "app"
        title = f"{kind} subnet {subnet.short_name} {subnet.inputs.get('cidrBlock', '')}".strip()
        boxes[subnet.id] = Box(f"g_{node_id(subnet.name).removeprefix('n_')}", title)
    return boxes


def _zone_boxes(resources: Sequence[Recorded], subnet_boxes: dict[str, Box], public_ids: set[str]) -> list[Box]:
    zones: dict[str, Box] = {}
    subnets = sorted(t.of_type(resources, t.SUBNET), key=lambda subnet: (subnet.id not in public_ids, subnet.name))
    for subnet in subnets:
        zone = subnet.inputs.get("availabilityZone", "unknown AZ")
        box = zones.setdefault(zone, Box(f"g_{node_id(zone).removeprefix('n_')}", zone))
        box.boxes.append(subnet_boxes[subnet.id])
    return [zones[name] for name in sorted(zones)]


def _fill_empty(box: Box) -> None:
    """Renderers draw empty boxes badly (or refuse them), so an empty subnet says so."""
    for inner in box.boxes:
        _fill_empty(inner)
    if not box.nodes and not box.boxes:
        box.nodes.append(Node(f"n_{box.id.removeprefix('g_')}_empty", ("no resources",)))


# Mermaid ---------------------------------------------------------------------------------------------------------

_MERMAID_SHAPES = {"box": ('["', '"]'), "circle": ('(("', '"))'), "cylinder": ('[("', '")]')}


def _mermaid_node(node: Node) -> str:
    opening, closing = _MERMAID_SHAPES[node.shape]
    text = "<br/>".join(line.replace('"', "#quot;") for line in node.lines)
    return f"{node.id}{opening}{text}{closing}"


def _mermaid_box(box: Box, indent: str) -> list[str]:
    lines = [f'{indent}subgraph {box.id}["{box.title}"]']
    lines += [f"{indent}  {_mermaid_node(node)}" for node in box.nodes]
    for inner in box.boxes:
        lines += _mermaid_box(inner, indent + "  ")
    return [*lines, f"{indent}end"]


def mermaid(plan: Layout) -> str:
    lines = ["flowchart TB"]
    lines += [f"  {_mermaid_node(node)}" for node in plan.outside]
    lines += _mermaid_box(plan.vpc, "  ")
    lines += [f"  {owner} -.- {member}" for owner, member in plan.members]
    lines += [f'  {source} -->|"{label}"| {target}' for source, target, label in plan.arrows]
    return "\n".join(lines) + "\n"


# Graphviz DOT ------------------------------------------------------------------------------------------------------

_DOT_SHAPES = {"box": "box", "circle": "ellipse", "cylinder": "cylinder"}


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_node(node: Node) -> str:
    label = _dot_quote("\n".join(node.lines)).replace("\n", "\\n")
    return f"{node.id} [label={label}, shape={_DOT_SHAPES[node.shape]}];"


def _dot_box(box: Box, indent: str) -> list[str]:
    lines = [f"{indent}subgraph cluster_{box.id} {{", f"{indent}  label={_dot_quote(box.title)};"]
    lines += [f"{indent}  {_dot_node(node)}" for node in box.nodes]
    for inner in box.boxes:
        lines += _dot_box(inner, indent + "  ")
    return [*lines, f"{indent}}}"]


def dot(plan: Layout, title: str) -> str:
    lines = [f"digraph {_dot_quote(title)} {{", '  node [fontname="Helvetica"]; edge [fontname="Helvetica"];']
    lines += [f"  {_dot_node(node)}" for node in plan.outside]
    lines += _dot_box(plan.vpc, "  ")
    lines += [f"  {owner} -> {member} [style=dotted, arrowhead=none];" for owner, member in plan.members]
    lines += [f"  {source} -> {target} [label={_dot_quote(label)}];" for source, target, label in plan.arrows]
    return "\n".join([*lines, "}"]) + "\n"


# Files -----------------------------------------------------------------------------------------------------------


def markdown(plan: Layout, stack: str) -> str:
    return (
        f"# TinyStack stack `{stack}`\n\n"
        f"Generated by `python -m tinystack_component plan --stack {stack}` from the resources the program would "
        "create. Arrows carry the ports the security groups allow; dotted lines join a resource to the subnets "
        "it spans.\n\n"
        f"```mermaid\n{mermaid(plan)}```\n"
    )


def write_diagram(
    resources: ResourcesOrTopology, edges: Sequence[Edge], stack: str, out_dir: Path = Path("plan")
) -> DiagramFiles:
    plan = layout(resources, edges)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{stack}.md"
    path.write_text(markdown(plan, stack))
    return DiagramFiles(path, _write_svg(dot(plan, f"TinyStack {stack}"), out_dir / f"{stack}.svg"))


def _write_svg(graph: str, path: Path) -> Optional[Path]:
    """The SVG is a bonus: without Graphviz, or when it fails, the plan goes on without it."""
    program = shutil.which("dot")
    if program is None:
        return None
    try:
        subprocess.run([program, "-Tsvg", "-o", str(path)], input=graph, text=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return path
