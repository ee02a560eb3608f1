import * as pulumi from "@pulumi/pulumi";
import * as tinystack from "@pulumi/tinystack";

const config = new pulumi.Config();

// Inputs are the schema's camelCase names; enums take their string values ("alb", "api-gateway", "postgres").
const api = new tinystack.TinyStack("api", {
    frontEnd: "api-gateway",
    containerImage: config.get("containerImage") ?? "public.ecr.aws/nginx/nginx:stable",
    containerPort: 80,
    instanceType: "t4g.small", // Graviton: the arm64 ECS-optimized AMI is chosen automatically
    instanceCount: 2,
    maxCount: 4,
    containerEnvironment: {
        LOG_LEVEL: "info",
    },
    database: {
        engine: "postgres",
        multiAz: false,
        deletionProtection: false, // an example should be easy to tear down
    },
    tags: {
        project: "tinystack-typescript-example",
    },
});

export const url = api.url;
export const databaseEndpoint = api.databaseEndpoint;
export const clusterName = api.clusterName;
