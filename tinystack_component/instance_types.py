"""What TinyStack needs to know about EC2 instance types: CPU architecture and what a container can use."""

import re
from typing import Optional

# vCPUs and memory (MiB) of the types the defaults and the docs use. Unknown types are accepted; only the
# container-size check is skipped for them.
_SIZES: dict[str, tuple[int, int]] = {
    "nano": (2, 512),
    "micro": (2, 1024),
    "small": (2, 2048),
    "medium": (2, 4096),
    "large": (2, 8192),
    "xlarge": (4, 16384),
    "2xlarge": (8, 32768),
}
_BURSTABLE = ("t3", "t3a", "t4g")
_GENERAL = ("m5", "m6i", "m6a", "m6g", "m7i", "m7a", "m7g", "m8g")
_COMPUTE = ("c5", "c6i", "c6g", "c7i", "c7g", "c8g")

# Graviton families carry a "g" right after the generation digit (t4g, m7g, c6gn, im4gn); a1 is Graviton 1.
_GRAVITON_FAMILY = re.compile(r"^([a-z]+\d+g[a-z]*|a1)$")

# The ECS agent and the OS keep part of an instance's memory; a task asking for all of it is never placed.
_MEMORY_RESERVED_FRACTION = 0.1


def is_graviton(instance_type: str) -> bool:
    return bool(_GRAVITON_FAMILY.match(instance_type.split(".")[0]))


def architecture(instance_type: str) -> str:
    """`arm64` or `x86_64`, as AMI SSM parameter names spell it."""
    return "arm64" if is_graviton(instance_type) else "x86_64"


def vcpus_and_memory(instance_type: str) -> Optional[tuple[int, int]]:
    family, _, size = instance_type.partition(".")
    if size not in _SIZES:
        return None
    vcpus, memory = _SIZES[size]
    if family in _BURSTABLE:
        return vcpus, memory
    # General purpose and compute families start at large: 4 GiB and 2 GiB per vCPU.
    if size in ("nano", "micro", "small", "medium") or family not in _GENERAL + _COMPUTE:
        return None
    return vcpus, vcpus * (4096 if family in _GENERAL else 2048)


def container_capacity(instance_type: str) -> Optional[tuple[int, int]]:
    """CPU units and MiB a single container may reserve on one instance of this type, or None when unknown."""
    sizes = vcpus_and_memory(instance_type)
    if sizes is None:
        return None
    vcpus, memory = sizes
    return vcpus * 1024, int(memory * (1 - _MEMORY_RESERVED_FRACTION))
