"""Two TinyStacks side by side in one AWS account and region: `web` behind an ALB, `api` behind API Gateway.

Each component's name starts every name it gives AWS (clusters, roles, log groups, the Cloud Map namespace, the
final database snapshot, ...), so the two never collide; tests/test_examples.py checks it under mocks.
"""

import pulumi

from tinystack_component import DatabaseArgs, DatabaseEngine, FrontEnd, TinyStack, TinyStackArgs

web = TinyStack(
    "web",
    TinyStackArgs(
        front_end=FrontEnd.ALB,
        container_port=80,
        database=DatabaseArgs(engine=DatabaseEngine.POSTGRES),
        tags={"app": "web"},
    ),
)

api = TinyStack(
    "api",
    TinyStackArgs(
        front_end=FrontEnd.API_GATEWAY,
        instance_type="t4g.small",
        instance_count=2,
        # Separate VPCs need no distinct CIDRs, but distinct ones keep peering them later possible.
        vpc_cidr="10.1.0.0/16",
        database=DatabaseArgs(engine=DatabaseEngine.MYSQL),
        tags={"app": "api"},
    ),
)

pulumi.export("web_url", web.url)
pulumi.export("web_database_endpoint", web.database_endpoint)
pulumi.export("api_url", api.url)
pulumi.export("api_database_endpoint", api.database_endpoint)
