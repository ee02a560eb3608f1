"""Hand-built recorded resources for the plan tests: the shapes of the contract, with ids that are not the mocks'."""

from typing import Any

from tinystack_component.plan import topology as t
from tinystack_component.plan.recording import Recorded

COMPONENT = "web"


def res(token: str, name: str, /, **inputs: Any) -> Recorded:
    short = name.removeprefix(f"{COMPONENT}-")
    return Recorded(
        type=token,
        name=name,
        inputs=inputs,
        urn=f"urn:pulumi:test::p::{token}::{name}",
        parent_urn=f"urn:pulumi:test::p::tinystack:index:TinyStack::{COMPONENT}",
        id=f"id:{short}",
        outputs={**inputs, "arn": f"arn:test:{short}"},
    )


def network(zones: tuple[str, ...] = ("us-east-1a", "us-east-1b", "us-east-1c")) -> list[Recorded]:
    """A VPC with one public (routed to the internet gateway) and one app subnet per AZ."""
    found = [
        res(t.VPC, "web-vpc", cidrBlock="10.0.0.0/16"),
        res(t.INTERNET_GATEWAY, "web-igw", vpcId="id:vpc"),
        res("aws:ec2/routeTable:RouteTable", "web-public-rt", vpcId="id:vpc"),
        res(
            t.ROUTE,
            "web-public-default-route",
            routeTableId="id:public-rt",
            destinationCidrBlock="0.0.0.0/0",
            gatewayId="id:igw",
        ),
    ]
    for index, zone in enumerate(zones, start=1):
        found += [
            res(t.SUBNET, f"web-public-{index}", availabilityZone=zone, cidrBlock=f"10.0.{200 + index}.0/24"),
            res(t.SUBNET, f"web-app-{index}", availabilityZone=zone, cidrBlock=f"10.0.{index}.0/24"),
            res(
                t.ROUTE_TABLE_ASSOCIATION,
                f"web-public-{index}-rta",
                routeTableId="id:public-rt",
                subnetId=f"id:public-{index}",
            ),
        ]
    return found


def nat_instance(instance_type: str = "t4g.nano") -> list[Recorded]:
    return [
        res(
            t.INSTANCE,
            "web-nat-instance",
            instanceType=instance_type,
            sourceDestCheck=False,
            associatePublicIpAddress=True,
            subnetId="id:public-1",
            rootBlockDevice={"encrypted": True, "volumeType": "gp3"},
        ),
        res(t.EIP, "web-nat-eip", instance="id:nat-instance", domain="vpc"),
    ]


def containers(count: int = 3, instance_type: str = "t3.small", zones: int = 3) -> list[Recorded]:
    return [
        res(
            t.LAUNCH_TEMPLATE,
            "web-container-instances",
            instanceType=instance_type,
            blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"volumeType": "gp3", "volumeSize": 30}}],
        ),
        res(
            t.AUTOSCALING_GROUP,
            "web-asg",
            desiredCapacity=float(count),
            minSize=float(count),
            maxSize=float(2 * count),
            launchTemplate={"id": "id:container-instances", "version": "$Latest"},
            vpcZoneIdentifiers=[f"id:app-{index}" for index in range(1, zones + 1)],
        ),
    ]


def alb(zones: int = 3) -> list[Recorded]:
    subnets = [f"id:public-{index}" for index in range(1, zones + 1)]
    return [res(t.LOAD_BALANCER, "web-alb", internal=False, loadBalancerType="application", subnets=subnets)]


def database(multi_az: bool = False, instance_class: str = "db.t4g.micro", storage: float = 20.0) -> list[Recorded]:
    return [
        res(
            t.DB_SUBNET_GROUP, "web-db-subnets", name="web-db-subnets-x", subnetIds=["id:app-1", "id:app-2", "id:app-3"]
        ),
        res(
            t.DB_INSTANCE,
            "web-database",
            instanceClass=instance_class,
            allocatedStorage=storage,
            multiAz=multi_az,
            engine="postgres",
            dbSubnetGroupName="web-db-subnets-x",
        ),
    ]
