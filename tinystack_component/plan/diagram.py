"""A diagram of the stack as built: a Mermaid flowchart in `<out>/<stack>.md`, and `<stack>.svg` when Graphviz is here.

Both come from one layout derived from the recorded resources: a box per AZ holding its public and app subnets,
the endpoints of the reachability analysis placed in the subnets they occupy, and an arrow per reachability edge
labelled with its ports. An endpoint that spans several subnets is drawn once in the VPC, with a dotted line to a
small node in each of its subnets.
"""

import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple, Optional

from . import topology as t
from .reachability import (
    BASTION,
    CONTAINER_INSTANCES,
    DATABASE,
    INTERNET,
    LOAD_BALANCER,
    NAT_INSTANCE,
    VPC_ENDPOINTS,
    VPC_LINK,
    Edge,
    Member,
    ResourcesOrTopology,
    Topology,
    as_topology,
)
from .recording import Recorded

Shape = Literal["box", "circle", "cylinder"]


@dataclass(frozen=True)
class Node:
    id: str
    lines: tuple[str, ...]
    shape: Shape = "box"


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
    subnet_node_label: str
    subnet_ids: tuple[str, ...]
    shape: Shape = "box"


class DottedLine(NamedTuple):
    endpoint_node_id: str
    subnet_node_id: str


class Arrow(NamedTuple):
    source_node_id: str
    target_node_id: str
    ports: str


@dataclass
class Layout:
    vpc: Box
    outside: list[Node]
    dotted_lines: list[DottedLine]
    arrows: list[Arrow]


@dataclass(frozen=True)
class DiagramFiles:
    markdown: Path
    svg: Optional[Path]


def node_id(name: str) -> str:
    return "n_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


# What an endpoint's node says -----------------------------------------------------------------------------------

Lines = Callable[[Topology, list[Recorded]], tuple[str, ...]]


class Look(NamedTuple):
    lines: Lines
    subnet_node_label: str
    shape: Shape = "box"


def _load_balancer(topology: Topology, balancers: list[Recorded]) -> tuple[str, ...]:
    schemes = ("internal" if t.truthy(lb.inputs.get("internal")) else "internet-facing" for lb in balancers)
    names = (name for lb in balancers for name in t.names_aliased_to(topology.resources, lb.outputs.get("dnsName")))
    return ("Application Load Balancer", *schemes, *(f"https://{name}" for name in names))


def _vpc_link(topology: Topology, links: list[Recorded]) -> tuple[str, ...]:
    apis = topology.of_type(t.HTTP_API)
    names = (name for api in apis for name in t.api_domain_names(topology.resources, api))
    return ("API Gateway HTTP API", "VPC link", *(f"https://{name}" for name in names))


def _container_instances(topology: Topology, resources: list[Recorded]) -> tuple[str, ...]:
    templates = [resource for resource in resources if resource.type == t.LAUNCH_TEMPLATE]
    groups = [
        f"ASG {t.desired_capacity(group)} x {template.inputs.get('instanceType', '?')}"
        for template in templates
        for group in t.groups_launching(template, topology.resources)
    ]
    return ("ECS container instances", *groups)


def _databases(topology: Topology, databases: list[Recorded]) -> tuple[str, ...]:
    lines: list[str] = []
    for database in databases:
        layout = ", Multi-AZ" if database.inputs.get("multiAz") else ""
        lines += [f"RDS {database.inputs.get('engine', '')}".strip(), f"{database.inputs.get('instanceClass')}{layout}"]
    return tuple(lines)


def _instances(title: str) -> Lines:
    def lines(topology: Topology, instances: list[Recorded]) -> tuple[str, ...]:
        return (title, *(instance.inputs.get("instanceType", "") for instance in instances))

    return lines


def _nats(topology: Topology, members: list[Recorded]) -> tuple[str, ...]:
    """A plain NAT instance by its type; a NAT behind a static ENI by the group that attaches it; one per AZ counted."""
    groups = {interface: (group, template) for group, template, interface in t.nat_groups(topology.resources)}
    kinds: dict[str, int] = {}
    for member in members:
        if member.id in groups:
            group, template = groups[member.id]
            size, kind = t.desired_capacity(group), template.inputs.get("instanceType", "")
            line = f"ASG of {size} x {kind} behind static ENI, EIP"
        else:
            line = member.inputs.get("instanceType", "")
        kinds[line] = kinds.get(line, 0) + 1
    return ("NAT instance", *(line if count == 1 else f"{count} x ({line})" for line, count in kinds.items()))


def _vpc_endpoints(topology: Topology, endpoints: list[Recorded]) -> tuple[str, ...]:
    return ("VPC interface endpoints", f"{len(endpoints)} services")


# The order of this dict is the order of the nodes in a subnet box.
LOOKS: dict[str, Look] = {
    LOAD_BALANCER: Look(_load_balancer, "ALB node"),
    VPC_LINK: Look(_vpc_link, "VPC link"),
    CONTAINER_INSTANCES: Look(_container_instances, "ECS instance"),
    DATABASE: Look(_databases, "DB subnet", "cylinder"),
    NAT_INSTANCE: Look(_nats, "NAT instance"),
    VPC_ENDPOINTS: Look(_vpc_endpoints, "endpoint ENIs"),
    BASTION: Look(_instances("bastion"), "bastion"),
}


def placements(resources: ResourcesOrTopology) -> list[Placement]:
    """Every endpoint of the reachability analysis with members, placed in the subnets they occupy."""
    topology = as_topology(resources)
    by_endpoint: dict[str, list[Member]] = {}
    for member in topology.members:
        by_endpoint.setdefault(member.endpoint, []).append(member)
    return [_placement(topology, endpoint, by_endpoint[endpoint]) for endpoint in LOOKS if endpoint in by_endpoint]


def _placement(topology: Topology, endpoint: str, members: list[Member]) -> Placement:
    look = LOOKS[endpoint]
    resources = [topology.by_id[member.id] for member in members if member.id in topology.by_id]
    subnets = tuple(sorted({subnet for member in members for subnet in member.subnets}))
    return Placement(endpoint, look.lines(topology, resources), look.subnet_node_label, subnets, look.shape)


# Layout ----------------------------------------------------------------------------------------------------------


def layout(resources: ResourcesOrTopology, edges: Sequence[Edge]) -> Layout:
    topology = as_topology(resources)
    public_ids = {subnet.id for subnet in topology.public_subnets()}
    subnet_boxes = _subnet_boxes(topology.resources, public_ids)
    vpc = Box("g_vpc", _vpc_title(topology.resources), boxes=_zone_boxes(topology.resources, subnet_boxes, public_ids))
    dotted_lines: list[DottedLine] = []
    placed = {INTERNET}
    for place in placements(topology):
        placed.add(place.endpoint)
        dotted_lines += _place(place, vpc, subnet_boxes)
    outside = [Node(node_id(INTERNET), (INTERNET,), "circle")]
    outside += [Node(node_id(name), (name,)) for name in _edge_endpoints(edges) if name not in placed]
    arrows = [Arrow(node_id(edge.source), node_id(edge.target), ", ".join(edge.ports)) for edge in edges]
    _fill_empty(vpc)
    return Layout(vpc, outside, dotted_lines, arrows)


def _place(place: Placement, vpc: Box, subnet_boxes: dict[str, Box]) -> list[DottedLine]:
    """In its subnet's box when it has one subnet; else in the VPC, joined to a small node in each of its subnets."""
    own = Node(node_id(place.endpoint), place.lines, place.shape)
    boxes = [subnet_boxes[subnet] for subnet in place.subnet_ids if subnet in subnet_boxes]
    if len(boxes) == 1:
        boxes[0].nodes.append(own)
        return []
    vpc.nodes.append(own)
    dotted_lines = []
    for box in boxes:
        in_subnet = Node(f"{own.id}_{box.id.removeprefix('g_')}", (place.subnet_node_label,), place.shape)
        box.nodes.append(in_subnet)
        dotted_lines.append(DottedLine(own.id, in_subnet.id))
    return dotted_lines


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
    lines += [f"  {endpoint} -.- {in_subnet}" for endpoint, in_subnet in plan.dotted_lines]
    lines += [f'  {source} -->|"{ports}"| {target}' for source, target, ports in plan.arrows]
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
    lines += [
        f"  {endpoint} -> {in_subnet} [style=dotted, arrowhead=none];" for endpoint, in_subnet in plan.dotted_lines
    ]
    lines += [f"  {source} -> {target} [label={_dot_quote(ports)}];" for source, target, ports in plan.arrows]
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
