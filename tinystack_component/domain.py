"""Your own domain over HTTPS: the Route 53 zone, an ACM certificate validated through DNS, and the alias record.

The zone is looked up (and a private, missing or ambiguous one refused) before any resource exists. The certificate
comes before the front end, which serves the validated certificate's ARN; the front end then points the name at
itself with `point_domain_at`. With `certificate_arn` given, no certificate is made and the name still gets its record.

A change of `domain_name` replaces the certificate, its validation record and validation, the alias and, with API
Gateway, the API domain (its name is immutable) and mapping: Pulumi creates each replacement before it deletes the
old one (no `delete_before_replace`), so the listener moves to the new validated ARN, and the new API domain is made
with it, before the old certificate, then in use by nobody, is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from .context import StackContext
from .validation import HOSTED_ZONE_ID, Settings, check_hosted_zone, missing_hosted_zone

VALIDATION_RECORD_TTL = 60


@dataclass(frozen=True)
class HostedZone:
    id: str
    name: str


@dataclass(frozen=True)
class Domain:
    """The app's host name, its zone, and the certificate the front end serves for it."""

    name: str
    zone: HostedZone
    certificate_arn: pulumi.Output[str]
    """The validation's certificate ARN (the front end waits for validation), or the given certificate's."""


@dataclass(frozen=True)
class AliasTarget:
    """Where the name points: a load balancer's or an API domain's DNS name, and its Route 53 zone."""

    dns_name: pulumi.Input[str]
    zone_id: pulumi.Input[str]


def look_up_zone(ctx: StackContext, settings: Settings, zone_given: bool) -> Optional[HostedZone]:
    """The public zone of domain_name, by id or by name; refused, before any resource, when private, missing or
    foreign. Errors name hosted_zone, or domain_name when the zone is its parent domain (`zone_given` false)."""
    if settings.domain_name is None:
        return None
    field = "hosted_zone" if zone_given else "domain_name"
    given = settings.hosted_zone
    by_id = HOSTED_ZONE_ID.match(given) is not None
    found, reason = _get_zone(ctx, given, by_id, private=False)
    if found is None and not by_id:
        # By name the provider sees one kind of zone only: a private zone of that name is refused as private.
        found, _ = _get_zone(ctx, given, by_id, private=True)
    if found is None:
        raise missing_hosted_zone(settings, field, by_id, reason)
    return HostedZone(found.zone_id, check_hosted_zone(settings, field, found.name, bool(found.private_zone)))


def _get_zone(
    ctx: StackContext, given: str, by_id: bool, private: bool
) -> tuple[Optional[aws.route53.GetZoneResult], str]:
    """The zone, or None and the provider's reason: it reports a missing or ambiguous zone as a plain error."""
    try:
        found = aws.route53.get_zone(
            zone_id=given if by_id else None,
            name=None if by_id else given,
            private_zone=private,
            opts=ctx.invoke_opts(),
        )
    except Exception as error:
        return None, str(error)
    return found, ""


def build_domain(ctx: StackContext, settings: Settings, zone: Optional[HostedZone]) -> Optional[Domain]:
    if zone is None:
        return None
    if settings.certificate_arn is not None:
        return Domain(settings.domain_name, zone, pulumi.Output.from_input(settings.certificate_arn))
    return Domain(settings.domain_name, zone, _validated_certificate(ctx, settings.domain_name, zone))


def _validated_certificate(ctx: StackContext, domain_name: str, zone: HostedZone) -> pulumi.Output[str]:
    certificate = aws.acm.Certificate(
        ctx.child("certificate"),
        domain_name=domain_name,
        validation_method="DNS",
        tags=ctx.tags("certificate"),
        opts=ctx.opts(),
    )
    # One name requested, so one validation option: the CNAME that proves the zone is ours.
    option = certificate.domain_validation_options.apply(
        lambda options: next(entry for entry in options if entry.domain_name == domain_name)
    )
    record = aws.route53.Record(
        ctx.child("certificate-validation-record"),
        zone_id=zone.id,
        name=option.apply(lambda entry: entry.resource_record_name),
        type=option.apply(lambda entry: entry.resource_record_type),
        records=[option.apply(lambda entry: str(entry.resource_record_value))],
        ttl=VALIDATION_RECORD_TTL,
        # ACM gives every certificate of a name in an account the same CNAME: one made by hand before may be there.
        allow_overwrite=True,
        opts=ctx.opts(),
    )
    validation = aws.acm.CertificateValidation(
        ctx.child("certificate-validation"),
        certificate_arn=certificate.arn,
        validation_record_fqdns=[record.fqdn],
        opts=ctx.opts(),
    )
    return validation.certificate_arn


def point_domain_at(ctx: StackContext, domain: Domain, target: AliasTarget) -> aws.route53.Record:
    """An A alias (the front ends are IPv4-only, so no AAAA) that follows the target's health."""
    return aws.route53.Record(
        ctx.child("domain-alias-a"),
        zone_id=domain.zone.id,
        name=domain.name,
        type="A",
        aliases=[{"name": target.dns_name, "zone_id": target.zone_id, "evaluate_target_health": True}],
        opts=ctx.opts(),
    )


def https_url(domain: Domain) -> pulumi.Output[str]:
    return pulumi.Output.from_input(f"https://{domain.name}")
