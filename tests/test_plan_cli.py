"""`python -m tinystack_component plan`: project config, the real dev stack, JSON shape, exit codes, config errors.

The Pulumi mocks runtime is global, so every plan runs in-process, one after the other.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tinystack_component.plan import cli, reachability
from tinystack_component.plan.project import SECRET_PLACEHOLDER, ProjectError, load_project
from tinystack_component.plan.reachability import Edge
from tinystack_component.plan.recording import Recorded
from tinystack_component.plan.report import tier_of
from tinystack_component.plan.violations import Violation

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def in_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.fixture
def project_dir(tmp_path, monkeypatch):
    """A copy of the project's Pulumi.yaml and program, without its stacks."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    shutil.copy(ROOT / "__main__.py", tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


_RECORDINGS: dict[tuple, list[Recorded]] = {}


@pytest.fixture
def recorded_once(monkeypatch):
    """The tests that read a stack's plan share its recording, as the `build` fixture shares a configuration's: a
    stack of the same program and config is recorded once per session, and every plan is derived from it afresh."""
    record_stack = cli.record_stack

    def recorded(project):
        config = json.dumps([project.config, project.secret_keys], sort_keys=True)
        key = (project.name, project.stack, project.program.read_text(), config)
        if key not in _RECORDINGS:
            _RECORDINGS[key] = record_stack(project)
        return _RECORDINGS[key]

    monkeypatch.setattr(cli, "record_stack", recorded)


def run(capsys, *args):
    code = cli.main(["plan", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_over_the_dev_stack(in_root, recorded_once, tmp_path, capsys):
    # How fast a plan is (under 3 s of CPU) is measured by `make bench`, not asserted: a timing is flaky in a suite.
    code, out, _ = run(capsys, "--stack", "dev", "--json", "--out", str(tmp_path))
    plan = json.loads(out)
    assert set(plan) == {
        "resources",
        "reachability",
        "service_reachability",
        "violations",
        "monthly_cost",
        "nat",
        "failure_analysis",
        "diagram",
    }
    assert plan["failure_analysis"][0] == {
        "lost_zone": "us-east-1a",
        "serving": True,
        "egress": {"us-east-1b": False, "us-east-1c": False},
        "database": False,
    }
    assert plan["nat"] == [
        {
            "group": "tinystack-nat-asg",
            "instances": 1,
            "interface": "tinystack-nat-eni",
            "elastic_ip": "tinystack-nat-eip",
            "boot_log_group": "tinystack-nat-boot-log-1a2b3c4",
        }
    ]
    assert {"type": "aws:ec2/vpc:Vpc", "name": "tinystack-vpc", "parent": "tinystack"} in plan["resources"]
    assert all(set(row) == {"from", "to", "ports"} for row in plan["reachability"])
    assert all(set(row) == {"resource", "rule", "detail"} for row in plan["violations"])
    cost = plan["monthly_cost"]
    assert set(cost) == {
        "total_usd",
        "items",
        "nat_gateway_alternative_usd",
        "interface_endpoints_usd",
        "ten_endpoints_in_three_azs_usd",
        "price_date",
        "price_region",
        "usage",
        "unpriced",
    }
    assert cost["price_region"] == "us-east-1"
    assert cost["unpriced"] == []
    assert all(set(item) == {"name", "usd", "unit"} for item in cost["usage"])
    assert cost["total_usd"] == pytest.approx(sum(item["usd"] for item in cost["items"]))
    assert cost["nat_gateway_alternative_usd"] > cost["total_usd"]
    nat = "NAT instance tinystack-nat-asg (ASG of 1 x t4g.nano behind tinystack-nat-eni)"
    assert dict((item["name"], item["usd"]) for item in cost["items"])[nat] == pytest.approx(3.07)
    assert cost["interface_endpoints_usd"] == 0 and cost["ten_endpoints_in_three_azs_usd"] is None
    needed = {row["service"]: row for row in plan["service_reachability"]}
    assert set(needed) >= {"ecs", "ecs-agent", "ecs-telemetry", "logs", "secretsmanager", "public.ecr.aws"}
    assert all(row["via"] == "nat" and row["zones"] == [] for row in needed.values())
    assert plan["diagram"] == str(tmp_path / "dev.md")
    assert "```mermaid" in Path(plan["diagram"]).read_text()
    assert code == (1 if plan["violations"] else 0)


def test_text_over_the_dev_stack_fits_80_columns(in_root, recorded_once, tmp_path, capsys):
    code, out, _ = run(capsys, "--out", str(tmp_path))
    assert max(len(line) for line in out.splitlines() if str(tmp_path) not in line) <= 80
    for expected in (
        "stack dev, region us-east-1",
        "placeholders",
        "network (",
        "security (",
        "Reachability",
        "Violations:",
        "Monthly cost estimate (USD, on-demand us-east-1 list prices of",
        "an estimate",
        "one NAT gateway per AZ",
        f"  {tmp_path / 'dev.md'} (Mermaid)",
        "Planned offline in",
    ):
        assert expected in out
    words = " ".join(out.split())
    assert "0.005 USD per hour held" in words, "a unit price rounded to 0.01"
    assert "11.01 instead of 7.36 for the NAT" in words
    assert code in (0, 1)


def test_a_plan_indexes_the_resources_once(in_root, recorded_once, tmp_path, capsys, monkeypatch):
    built = []
    index = reachability.Topology.__init__

    def counted(self, resources):
        built.append(len(resources))
        index(self, resources)

    monkeypatch.setattr(reachability.Topology, "__init__", counted)
    run(capsys, "--json", "--out", str(tmp_path))
    assert len(built) == 1


def rows(capsys, stack, out_dir):
    code, out, _ = run(capsys, "--stack", stack, "--json", "--out", str(out_dir))
    plan = json.loads(out)
    return code, plan, {(row["from"], row["to"]): row["ports"] for row in plan["reachability"]}


def test_dev_stack_keeps_the_seeds_promises(in_root, recorded_once, tmp_path, capsys):
    code, plan, edges = rows(capsys, "dev", tmp_path)
    assert (code, plan["violations"]) == (0, [])
    assert edges[("internet", "load-balancer")] == ["80"]
    assert edges[("load-balancer", "container-instances")] == ["80"]
    assert edges[("container-instances", "database")] == ["5432"]
    assert [target for source, target in edges if source == "internet"] == ["load-balancer"]
    assert [source for source, target in edges if target == "database"] == ["container-instances"]


def test_prod_stack_serves_https_on_the_container_port(in_root, recorded_once, tmp_path, capsys):
    code, plan, edges = rows(capsys, "prod", tmp_path)
    assert (code, plan["violations"]) == (0, [])
    assert edges[("internet", "load-balancer")] == ["80", "443"]
    assert edges[("load-balancer", "container-instances")] == ["80"]
    assert edges[("container-instances", "database")] == ["5432"]
    assert not [pair for pair in edges if pair[0] == "internet" and pair[1] != "load-balancer"]
    assert "bastion" not in {name for pair in edges for name in pair}


def test_a_violation_exits_1_and_is_listed(in_root, recorded_once, tmp_path, capsys, monkeypatch):
    broken = Violation("tinystack-database-sg", "the database is reachable only from the app", "0.0.0.0/0 on 5432")
    monkeypatch.setattr(cli, "find_violations", lambda resources, edges: [broken])
    code, out, _ = run(capsys, "--out", str(tmp_path))
    assert code == 1
    assert "Violations: 1" in out
    assert "tinystack-database-sg: the database is reachable only from the app" in out
    code, out, _ = run(capsys, "--json", "--out", str(tmp_path))
    assert code == 1
    assert json.loads(out)["violations"] == [
        {"resource": broken.resource, "rule": broken.rule, "detail": broken.detail}
    ]


def test_no_violation_exits_0(in_root, recorded_once, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "find_violations", lambda resources, edges: [])
    assert run(capsys, "--json", "--out", str(tmp_path))[0] == 0


def test_edges_reach_the_table(in_root, recorded_once, tmp_path, capsys, monkeypatch):
    edge = Edge("internet", "load-balancer", ("80",), ("0.0.0.0/0",))
    monkeypatch.setattr(cli, "find_edges", lambda resources: [edge])
    _, out, _ = run(capsys, "--out", str(tmp_path))
    assert "internet → load-balancer : 80 from 0.0.0.0/0" in out
    _, out, _ = run(capsys, "--json", "--out", str(tmp_path))
    assert json.loads(out)["reachability"] == [{"from": "internet", "to": "load-balancer", "ports": ["80"]}]


def test_config_error_names_the_key_and_exits_2(project_dir, capsys):
    (project_dir / "Pulumi.bad.yaml").write_text("config:\n  tinystack:contanerPort: 8080\n")
    code, out, err = run(capsys, "--stack", "bad", "--out", str(project_dir / "plan"))
    assert code == 2
    assert out == ""
    assert "tinystack:contanerPort" in err
    assert "did you mean tinystack:containerPort" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "front_end, endpoint, ports",
    [("alb", "load-balancer", ["80", "443"]), ("api-gateway", "api-gateway (vpc link)", ["443"])],
)
def test_a_domain_shows_in_resources_reachability_and_diagram(project_dir, capsys, front_end, endpoint, ports):
    (project_dir / "Pulumi.https.yaml").write_text(
        f"config:\n  tinystack:frontEnd: {front_end}\n  tinystack:domainName: app.example.com\n"
    )
    code, out, _ = run(capsys, "--stack", "https", "--json", "--out", str(project_dir / "plan"))
    plan = json.loads(out)
    assert code == 0 and plan["violations"] == []
    names = {resource["name"] for resource in plan["resources"]}
    assert {"tinystack-certificate", "tinystack-certificate-validation-record", "tinystack-domain-alias-a"} <= names
    from_internet = [edge for edge in plan["reachability"] if edge["from"] == "internet"]
    assert from_internet == [{"from": "internet", "to": endpoint, "ports": ports}]
    assert "https://app.example.com" in (project_dir / "plan" / "https.md").read_text()


def test_missing_stack_file_exits_2(project_dir, capsys):
    code, _, err = run(capsys, "--stack", "nope")
    assert code == 2
    assert "Pulumi.nope.yaml not found" in err


def test_declared_defaults_apply_under_the_project_namespace_and_the_stack_wins(project_dir):
    (project_dir / "Pulumi.s.yaml").write_text(
        "config:\n"
        "  aws:region: eu-west-1\n"
        "  containerPort: 8080\n"
        "  tinystack:tags: {team: a}\n"
        "  tinystack:certificateArn:\n"
        "    secure: v1:abc\n"
    )
    project = load_project(project_dir, "s")
    assert project.name == "tinystack"
    assert project.region == "eu-west-1"
    assert project.program == project_dir / "__main__.py"
    assert project.config["tinystack:containerPort"] == "8080"
    assert project.config["tinystack:frontEnd"] == "alb"
    assert project.config["tinystack:nat"] == "true"
    assert project.config["tinystack:tags"] == '{"team": "a"}'
    assert "tinystack:instanceType" in project.config
    assert project.config["tinystack:containerImage"] == ""  # declared with its "not set" default
    assert project.config["tinystack:certificateArn"] == SECRET_PLACEHOLDER
    assert project.secret_keys == ["tinystack:certificateArn"]


def test_region_defaults_to_us_east_1(project_dir):
    (project_dir / "Pulumi.s.yaml").write_text("config: {}\n")
    assert load_project(project_dir, "s").region == "us-east-1"


def test_missing_project_file(tmp_path):
    with pytest.raises(ProjectError, match=r"Pulumi\.yaml not found"):
        load_project(tmp_path, "dev")


@pytest.mark.parametrize(
    ("token", "name", "tier"),
    [
        ("aws:ec2/subnet:Subnet", "web-app-1", "network"),
        ("aws:ec2/instance:Instance", "web-nat-instance", "network"),
        ("aws:iam/role:Role", "web-flow-logs-role", "network"),
        ("aws:ec2/securityGroup:SecurityGroup", "web-bastion-sg", "security"),
        (
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "web-allow-alb-to-containers-tcp-80-in",
            "security",
        ),
        ("aws:ec2/launchTemplate:LaunchTemplate", "web-container-instances", "compute"),
        ("aws:ecs/cluster:Cluster", "web-cluster", "compute"),
        ("aws:lb/listener:Listener", "web-http", "front end"),
        ("aws:apigatewayv2/vpcLink:VpcLink", "web-vpc-link", "front end"),
        ("aws:acm/certificate:Certificate", "web-certificate", "front end"),
        ("aws:route53/record:Record", "web-certificate-validation-record", "front end"),
        ("aws:route53/record:Record", "web-domain-alias-a", "front end"),
        ("aws:apigatewayv2/domainName:DomainName", "web-api-domain", "front end"),
        ("aws:rds/instance:Instance", "web-database", "data"),
        ("aws:ec2/instance:Instance", "web-bastion", "access"),
        ("aws:ec2/keyPair:KeyPair", "web-bastion-key", "access"),
    ],
)
def test_tiers(token, name, tier):
    assert tier_of(Recorded(token, name, {}, "", "")) == tier


def test_module_entry_point(in_root, tmp_path):
    """The one subprocess: `python -m tinystack_component plan` from the project root."""
    done = subprocess.run(
        [sys.executable, "-m", "tinystack_component", "plan", "--json", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["diagram"] == str(tmp_path / "dev.md")


def test_engine_checks_declared_types_before_the_program_runs(project_dir, capsys):
    (project_dir / "Pulumi.typo.yaml").write_text("config:\n  tinystack:containerPort: eighty\n")
    code, _, err = run(capsys, "--stack", "typo")
    assert code == 2
    assert "Stack 'typo' with configuration key 'containerPort' must be of type 'integer'" in err


def test_a_declared_key_without_default_is_required_as_in_the_engine(project_dir, capsys):
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    project["config"]["owner"] = {"type": "string", "description": "who runs it"}
    (project_dir / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    (project_dir / "Pulumi.s.yaml").write_text("config: {}\n")
    code, _, err = run(capsys, "--stack", "s")
    assert code == 2
    assert "Stack 's' is missing configuration value 'owner'" in err


def test_the_projects_own_declarations_need_nothing_from_a_stack(project_dir):
    (project_dir / "Pulumi.empty.yaml").write_text("config: {}\n")
    project = load_project(project_dir, "empty")
    assert project.config["tinystack:containerImage"] == ""


def test_readme_shows_the_real_dev_plan_and_diagram(in_root, recorded_once, tmp_path, capsys):
    """The README's excerpt and diagram are what `make plan` prints and writes today."""
    _, out, _ = run(capsys, "--out", str(tmp_path))
    readme = (ROOT / "README.md").read_text()
    excerpt = readme.split("```text\n", 1)[1].split("```", 1)[0]
    lines = out.splitlines()
    for line in excerpt.splitlines():
        assert line in lines, line
    diagram = (tmp_path / "dev.md").read_text()
    mermaid = diagram[diagram.index("```mermaid") :]
    mermaid = mermaid[: mermaid.index("\n```", len("```mermaid")) + len("\n```")]
    assert mermaid in readme


ISOLATED_STACK = """config:
  aws:region: us-east-1
  tinystack:nat: false
  tinystack:endpointZones: 1
  tinystack:containerImage: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1
"""


def test_an_isolated_stack_plans_its_endpoints_and_a_removed_one_exits_1(project_dir, capsys, monkeypatch):
    (project_dir / "Pulumi.iso.yaml").write_text(ISOLATED_STACK)
    code, out, _ = run(capsys, "--stack", "iso", "--json", "--out", str(project_dir / "plan"))
    plan = json.loads(out)
    assert code == 0 and plan["violations"] == []
    ecr = next(row for row in plan["service_reachability"] if row["service"] == "ecr.dkr")
    assert ecr == {
        "service": "ecr.dkr",
        "via": "interface-endpoint",
        "zones": ["us-east-1a"],
        "needed_by": ["container-instances"],
    }
    cost = plan["monthly_cost"]
    assert cost["interface_endpoints_usd"] == pytest.approx(43.80)
    assert cost["ten_endpoints_in_three_azs_usd"] == pytest.approx(219.0)

    recorded = cli.record_stack
    monkeypatch.setattr(
        cli, "record_stack", lambda project: [r for r in recorded(project) if r.name != "tinystack-ecr-dkr-endpoint"]
    )
    code, out, _ = run(capsys, "--stack", "iso", "--out", str(project_dir / "plan"))
    assert code == 1
    assert ["ecr.dkr", "unreachable", "container-instances"] in [line.split() for line in out.splitlines()]
    assert "ecr.dkr: every AWS service the instances need is reachable" in out
    assert "Ten interface endpoints in three AZs" in out and "these save 182.50 USD/month." in out
