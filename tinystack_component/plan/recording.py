"""Record what a Pulumi program would create, offline, with the SDK's mocks.

`make plan` and the test suite both run TinyStack through this: every registered resource is kept with its type,
name, inputs, parent and options, and invokes (AZs, region, AMIs) get realistic answers. Ids, ARNs and AMIs are
placeholders, and are labelled as such wherever they are shown.
"""

import asyncio
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc
from pulumi.runtime.sync_await import _sync_await

DEFAULT_REGION = "us-east-1"
ACCOUNT = "123456789012"
PLACEHOLDER_ARM64_AMI = "ami-0arm64example000"
PLACEHOLDER_X86_AMI = "ami-0x8664example000"
# Route 53 zones of the regional ALB and API Gateway endpoints (AWS publishes them per region).
ALB_ZONE_IDS = {"us-east-1": "Z35SXDOTRQ7X7K", "eu-west-1": "Z32O12XQLNTSW2"}
API_GATEWAY_ZONE_IDS = {"us-east-1": "Z1UJRXOUMOOFQ8", "eu-west-1": "ZLY8HYME6SFDD"}
PLACEHOLDER_SERVICE_ZONE_ID = "Z0SERVICEZONE0PLACEHOLDER"


@dataclass(frozen=True)
class MockZone:
    """A Route 53 hosted zone in the mocked account."""

    zone_id: str
    name: str
    private: bool = False


# The mocked account's zones. `make plan` cannot see the real account, so by default a public zone of any other
# name is made up on demand and any domain can be planned; `RecordingMocks(hosted_zones=...)` holds exactly those.
HOSTED_ZONES = (
    MockZone("Z0EXAMPLE0PUBLIC0ZONE", "example.com"),
    MockZone("Z0EXAMPLE0PRIVATE0ZONE", "internal.example.com", private=True),
)


@dataclass
class Recorded:
    type: str
    name: str
    inputs: dict[str, Any]
    urn: str
    parent_urn: str
    options: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    """What the (mocked) provider reported: the inputs plus computed attributes (arn, primaryNetworkInterfaceId)."""

    @property
    def parent_name(self) -> str:
        return self.parent_urn.rsplit("::", 1)[-1] if self.parent_urn else ""

    @property
    def short_name(self) -> str:
        """The name without its parent's prefix: `public-1` for `tinystack-public-1`."""
        return self.name.removeprefix(f"{self.parent_name}-")


@dataclass
class Invoke:
    token: str
    args: dict[str, Any]
    provider: str


def _fake_id(typ: str, name: str) -> str:
    return f"{typ.rsplit(':', 1)[-1].lower()}-{name}"


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]


def _validation_options(domain_name: str) -> list[dict[str, str]]:
    """What ACM asks for a DNS-validated name: a CNAME below the name, pointing into acm-validations.aws."""
    return [
        {
            "domainName": domain_name,
            "resourceRecordName": f"_{_digest('name', domain_name)}.{domain_name}.",
            "resourceRecordType": "CNAME",
            "resourceRecordValue": f"_{_digest('value', domain_name)}.acm-validations.aws.",
        }
    ]


# What AWS reports for resources beyond their inputs, so outputs such as ARNs and DNS names resolve.
def _computed_state(region: str, typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    service = {"cloudwatch": "logs", "lb": "elasticloadbalancing", "apigatewayv2": "apigateway"}.get(
        typ.split(":")[1].split("/")[0], typ.split(":")[1].split("/")[0]
    )
    arn = f"arn:aws:{service}:{region}:{ACCOUNT}:{name}"
    if typ == "aws:cloudwatch/logGroup:LogGroup":
        arn = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{name}"
    state: dict[str, Any] = {"arn": arn, "name": inputs.get("name", f"{name}-1a2b3c4")}
    if typ == "aws:ec2/instance:Instance":
        state |= {"primaryNetworkInterfaceId": f"eni-{name}", "publicIp": "198.51.100.10", "privateIp": "10.0.200.10"}
    elif typ == "aws:ec2/networkInterface:NetworkInterface":
        state |= {"privateIp": f"10.0.200.{10 + sum(map(ord, name)) % 200}", "macAddress": "02:00:00:00:00:01"}
    elif typ == "aws:ec2/eip:Eip":
        state |= {"publicIp": "198.51.100.20", "allocationId": f"eipalloc-{name}"}
    elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
        state |= {"prefixListId": "pl-63a5400a"}
    elif typ == "aws:lb/loadBalancer:LoadBalancer":
        state |= {
            "dnsName": f"{name}-123456.{region}.elb.amazonaws.com",
            "arnSuffix": f"app/{name}/123",
            "zoneId": ALB_ZONE_IDS.get(region, PLACEHOLDER_SERVICE_ZONE_ID),
        }
    elif typ == "aws:acm/certificate:Certificate":
        state |= {
            # A new certificate (another name) is a new ARN, as in ACM.
            "arn": f"arn:aws:acm:{region}:{ACCOUNT}:certificate/{_uuid(name, inputs.get('domainName', ''))}",
            "domainValidationOptions": _validation_options(inputs.get("domainName", "")),
            "status": "PENDING_VALIDATION",
        }
    elif typ == "aws:acm/certificateValidation:CertificateValidation":
        state |= {"certificateArn": inputs.get("certificateArn")}
    elif typ == "aws:route53/record:Record":
        # The provider reports the record's name without the trailing dot.
        state |= {"fqdn": str(inputs.get("name", "")).removesuffix(".")}
    elif typ == "aws:apigatewayv2/domainName:DomainName":
        configuration = inputs.get("domainNameConfiguration") or {}
        state |= {
            "arn": f"arn:aws:apigateway:{region}::/domainnames/{inputs.get('domainName')}",
            "domainNameConfiguration": {
                **configuration,
                "targetDomainName": f"d-{_digest(name)[:10]}.execute-api.{region}.amazonaws.com",
                "hostedZoneId": API_GATEWAY_ZONE_IDS.get(region, PLACEHOLDER_SERVICE_ZONE_ID),
            },
        }
    elif typ == "aws:apigatewayv2/api:Api":
        state |= {"apiEndpoint": f"https://abc123.execute-api.{region}.amazonaws.com"}
    elif typ == "awsx:ecr:Repository":
        state |= {"url": f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{name}"}
    elif typ == "awsx:ecr:Image":
        state |= {"imageUri": f"{inputs.get('repositoryUrl')}@sha256:{'0' * 64}"}
    elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
        state |= {"latestVersion": 1}
    elif typ == "aws:ec2/keyPair:KeyPair":
        state |= {"keyName": inputs.get("keyName", f"{name}-1a2b3c4")}
    elif typ == "aws:rds/instance:Instance":
        state |= {
            "address": f"{name}.abcdefg.{region}.rds.amazonaws.com",
            "masterUserSecrets": [
                {"secretArn": f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:rds!db-1234-AbCdEf"}
            ],
        }
    return state


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers the engine's calls offline: placeholder ids and ARNs for resources, realistic invoke payloads."""

    def __init__(self, region: str = DEFAULT_REGION, hosted_zones: Optional[Sequence[MockZone]] = None) -> None:
        self.invokes: list[Invoke] = []
        self.region = region
        # The partition the provider reports: set aws-cn or aws-us-gov along with a region there.
        self.partition = "aws"
        self.zone_names = [f"{region}{letter}" for letter in "abcdef"]
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}
        self.hosted_zones: list[MockZone] = list(HOSTED_ZONES if hosted_zones is None else hosted_zones)
        self.made_up_zones = hosted_zones is None
        """A public zone is made up for a name no zone has; with the account's zones given, that name is missing."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict]:
        self.inputs[(args.typ, args.name)] = _unwrap_secrets(dict(args.inputs))
        resource_id = _fake_id(args.typ, args.name)
        computed = _computed_state(self.region, args.typ, args.name, args.inputs)
        if args.custom is False and args.typ.startswith("awsx:"):
            # A remote component's outputs are not its inputs echoed back (awsx returns child resources there).
            return resource_id, computed
        return resource_id, {**args.inputs, **computed}

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        self.invokes.append(Invoke(args.token, dict(args.args), args.provider))
        answer = INVOKE_ANSWERS.get(args.token)
        if answer is None:
            raise KeyError(f"no mocked answer for invoke {args.token}")
        return answer(self, args.args)


def _availability_zones(mocks: RecordingMocks, _: Mapping[str, Any]) -> dict[str, Any]:
    names = mocks.zone_names
    return {
        "names": names,
        "zoneIds": [f"{mocks.region}-az{index + 1}" for index in range(len(names))],
        "state": "available",
        "groupNames": [mocks.region] * len(names),
        "id": mocks.region,
    }


def _uuid(*parts: str) -> str:
    digest = _digest("certificate", *parts)
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _hosted_zone(mocks: "RecordingMocks", args: Mapping[str, Any]) -> "InvokeAnswer":
    """The provider's answer: by id, the zone whatever its kind; by name, the one zone of that name and kind
    (private_zone), else the provider's error."""
    zone_id, name = args.get("zoneId"), str(args.get("name") or "").removesuffix(".")
    if zone_id:
        matches = [zone for zone in mocks.hosted_zones if zone.zone_id == zone_id]
    else:
        named = [zone for zone in mocks.hosted_zones if zone.name == name]
        matches = [zone for zone in named if zone.private == bool(args.get("privateZone"))]
        if not named and mocks.made_up_zones:
            matches = [MockZone(f"Z0{_digest('zone', name)[:18].upper()}", name)]
    # A failed read comes back as the invoke's failure, as the engine returns the provider's error (a raised one
    # would be an RPC error: it fails the whole program even when caught).
    if not matches:
        return {}, [("zoneId" if zone_id else "name", "no matching Route 53 Hosted Zone found")]
    if len(matches) > 1:
        reason = "multiple Route 53 Hosted Zones matched; use additional constraints to reduce matches to a single"
        return {}, [("name", f"{reason} Hosted Zone")]
    (zone,) = matches
    return {
        "id": zone.zone_id,
        "zoneId": zone.zone_id,
        # Route 53 ends the name in a dot; the provider strips it, asked by id and by name alike.
        "name": zone.name,
        "privateZone": zone.private,
        "arn": f"arn:aws:route53:::hostedzone/{zone.zone_id}",
        "callerReference": f"tinystack-{zone.zone_id}",
        "comment": "",
        "nameServers": [f"ns-{number}.awsdns-{number:02d}.org" for number in (1, 2, 3, 4)],
        "primaryNameServer": "ns-1.awsdns-01.org",
        "resourceRecordSetCount": 2,
        "tags": {},
    }


# Zones that offer only older instance families, as us-east-1e (use1-az3) does: no t3, t4g or other Graviton types.
LIMITED_ZONES = {"us-east-1e"}
LIMITED_ZONE_FAMILIES = {"t2", "m4", "m5", "c4", "c5", "r4", "r5", "i3", "d2"}


def _instance_type_offerings(mocks: RecordingMocks, args: Mapping[str, Any]) -> dict[str, Any]:
    """One row per (zone, type) offered, of the types the instance-type filter asks for, as EC2 reports them."""
    location_type = args.get("locationType", "region")
    wanted = [
        value for entry in args.get("filters") or [] if entry["name"] == "instance-type" for value in entry["values"]
    ]
    locations = mocks.zone_names if location_type == "availability-zone" else [mocks.region]
    rows = [
        (location, instance_type)
        for location in locations
        for instance_type in wanted
        if location not in LIMITED_ZONES or instance_type.split(".")[0] in LIMITED_ZONE_FAMILIES
    ]
    return {
        "id": mocks.region,
        "locationType": location_type,
        "filters": args.get("filters"),
        "locations": [location for location, _ in rows],
        "instanceTypes": [instance_type for _, instance_type in rows],
        "locationTypes": [location_type] * len(rows),
    }


# The regional Elastic Load Balancing accounts that deliver access logs in regions opened before August 2022.
ELB_ACCOUNTS = {"us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-2": "797873946194"}
ELB_ACCOUNTS |= {"eu-west-1": "156460612806", "eu-central-1": "054676820928", "eu-west-3": "009996457667"}


def _elb_service_account(mocks: RecordingMocks, args: Mapping[str, Any]) -> dict[str, Any]:
    region = args.get("region") or mocks.region
    account = ELB_ACCOUNTS.get(region, "000000000000")
    return {"id": account, "arn": f"arn:aws:iam::{account}:root", "region": region}


def _ssm_parameter(mocks: RecordingMocks, args: Mapping[str, Any]) -> dict[str, Any]:
    name = args["name"]
    ami = PLACEHOLDER_ARM64_AMI if "arm64" in name else PLACEHOLDER_X86_AMI
    arn = f"arn:aws:ssm:{mocks.region}::parameter{name}"
    return {"name": name, "value": ami, "type": "String", "version": 1, "arn": arn}


# An invoke's result, or an empty one and its failures (property, reason), as Mocks.call may return.
InvokeAnswer = Union[dict[str, Any], tuple[dict[str, Any], list[tuple[str, str]]]]

INVOKE_ANSWERS: dict[str, Callable[[RecordingMocks, Mapping[str, Any]], InvokeAnswer]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:index/getRegion:getRegion": lambda mocks, _: {
        "region": mocks.region,
        "name": mocks.region,
        "id": mocks.region,
        "endpoint": f"ec2.{mocks.region}.amazonaws.com",
        "description": "US East (N. Virginia)",
    },
    "aws:ssm/getParameter:getParameter": _ssm_parameter,
    "aws:route53/getZone:getZone": _hosted_zone,
    "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": _instance_type_offerings,
    "aws:elb/getServiceAccount:getServiceAccount": _elb_service_account,
    "aws:index/getCallerIdentity:getCallerIdentity": lambda mocks, _: {
        "accountId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:user/test",
        "userId": "AIDTEST",
        "id": ACCOUNT,
    },
    "aws:index/getPartition:getPartition": lambda mocks, _: {
        "partition": mocks.partition,
        "dnsSuffix": "amazonaws.com.cn" if mocks.partition == "aws-cn" else "amazonaws.com",
        "id": mocks.partition,
    },
}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Keeps what MockResourceArgs leaves out: the parent and the resource options."""

    mocks: RecordingMocks

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Recorded] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.recorded.append(
                Recorded(
                    type=request.type,
                    name=request.name,
                    inputs=self.mocks.inputs[(request.type, request.name)],
                    urn=response.urn,
                    parent_urn=request.parent,
                    options={
                        "protect": request.protect,
                        "retain_on_delete": request.retainOnDelete,
                        "ignore_changes": list(request.ignoreChanges),
                        "provider": request.provider,
                        "dependencies": list(request.dependencies),
                        "delete_before_replace": request.deleteBeforeReplace,
                        "secret_inputs": _secret_fields(request.object),
                    },
                    id=response.id,
                    outputs=dict(self.resources[response.urn].state),
                )
            )
        return response


def _unwrap_secrets(value: Any) -> Any:
    """Secret values as plain ones: `options["secret_inputs"]` keeps which inputs were secret."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return _unwrap_secrets(value.get("value"))
        return {key: _unwrap_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(item) for item in value]
    return value


def _secret_fields(properties: Any) -> list[str]:
    """Top-level inputs the program marked secret (the engine would encrypt them in state)."""
    secret = []
    for key, value in properties.fields.items():
        if value.HasField("struct_value"):
            marker = value.struct_value.fields.get(rpc._special_sig_key)
            if marker is not None and marker.string_value == rpc._special_secret_sig:
                secret.append(key)
    return sorted(secret)


def record(
    program: Callable[[], Any], mocks: RecordingMocks, project: str = "tinystack", stack: str = "dev"
) -> tuple[Any, list[Recorded]]:
    """Run `program` under the mocks and return what it returned and every resource it registered."""
    monitor = RecordingMonitor(mocks)
    mocks.invokes = []
    mocks.inputs = {}
    # A fresh root stack for every recording, as for every real program run: exports never carry over.
    pulumi.runtime.reset_options()
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    holder: dict[str, Any] = {}
    with _no_source_positions():
        pulumi.runtime.test(lambda: holder.setdefault("result", program()))()
    return holder.get("result"), monitor.recorded


@contextmanager
def _no_source_positions() -> Iterator[None]:
    """Skip the SDK's stack walk per resource: only the engine shows source positions, and the mocks have none.

    A quarter of a recording's time went into it (every frame of the caller's stack, for every resource).
    """
    original = getattr(pulumi_resource, "_get_stack_trace", None)
    if original is None:  # an SDK without it: nothing to skip
        yield
        return
    pulumi_resource._get_stack_trace = _EMPTY_STACK_TRACE  # type: ignore[attr-defined]
    try:
        yield
    finally:
        pulumi_resource._get_stack_trace = original  # type: ignore[attr-defined]


def _EMPTY_STACK_TRACE() -> Any:  # noqa: N802 (stands in for the SDK's private function)
    return pulumi_resource.source_pb2.StackTrace()


def resolve(value: Any) -> Any:
    """The value of an Output (or plain value) built under the mocks."""
    return resolve_secret(value)[0]


def resolve_secret(value: Any) -> tuple[Any, bool]:
    output = pulumi.Output.from_input(value)

    async def wait() -> tuple[Any, bool]:
        return await output.future(), await output.is_secret()

    return _sync_await(asyncio.ensure_future(wait()))
