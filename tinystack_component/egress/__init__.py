"""Egress for the app subnets, as a strategy: NAT instances or VPC interface endpoints."""
