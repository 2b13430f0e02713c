"""Real C2PA-signed images, made with c2pa-python and a throwaway certificate chain."""

from __future__ import annotations

import datetime
import functools
import io
import json
from collections.abc import Callable

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.embedded_files import jpeg, png, webp

TRAINING_MINING = "cawg.training-mining"
CLAIM_GENERATOR = {"name": "scrapy-optout-tests", "version": "1"}
DIGITAL_CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
FORMATS: dict[str, tuple[str, Callable[[bytes | None], bytes]]] = {
    "jpeg": ("image/jpeg", jpeg),
    "png": ("image/png", png),
    "webp": ("image/webp", webp),
}


def _name(common_name: str) -> x509.Name:
    """A subject or issuer name with a common name and an organisation."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "scrapy-optout tests"),
        ]
    )


def _certificate(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    """A certificate for key, signed with ES256 by issuer_key, valid from yesterday for 10 years."""
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


_USAGES = (
    "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
    "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
)  # fmt: skip


def _key_usage(*granted: str) -> x509.KeyUsage:
    """A KeyUsage extension with only the *granted* usages set."""
    return x509.KeyUsage(**{usage: usage in granted for usage in _USAGES})


@functools.lru_cache(maxsize=1)
def signing_material() -> tuple[bytes, bytes]:
    """The certificate chain PEM (end entity, then CA) and PKCS#8 key PEM of a test signer."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("scrapy-optout test CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = _certificate(
        ca_name,
        ca_key,
        ca_name,
        ca_key,
        [
            (x509.BasicConstraints(ca=True, path_length=None), True),
            (_key_usage("key_cert_sign", "crl_sign"), True),
            (ca_ski, False),
        ],
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _certificate(
        _name("scrapy-optout test signer"),
        key,
        ca_name,
        ca_key,
        [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (_key_usage("digital_signature"), True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False),
            (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
            (x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False),
        ],
    )
    chain = b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in (leaf, ca))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return chain, key_pem


@functools.lru_cache(maxsize=1)
def signer() -> c2pa.Signer:
    """The process-wide ES256 c2pa signer of the test chain, with no timestamp authority."""
    chain, key_pem = signing_material()
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key_pem, None)
    return c2pa.Signer.from_info(info)


def manifest(
    entries: dict[str, object] | None,
    *,
    label: str = TRAINING_MINING,
    wrap_entries: bool = True,
    filler_bytes: int = 0,
) -> dict[str, object]:
    """The manifest definition: a c2pa.actions assertion, then the training-mining one."""
    created = {"action": "c2pa.created", "digitalSourceType": DIGITAL_CAPTURE}
    assertions: list[dict[str, object]] = [
        {"label": "c2pa.actions", "data": {"actions": [created]}}
    ]
    if entries is not None:
        assertions.append(
            {"label": label, "data": {"entries": entries} if wrap_entries else entries}
        )
    if filler_bytes > 0:
        assertions.append({"label": "org.example.filler", "data": {"filler": "x" * filler_bytes}})
    return {"claim_generator_info": [CLAIM_GENERATOR], "title": "test", "assertions": assertions}


def c2pa_signed(
    fmt: str,
    entries: dict[str, object] | None,
    *,
    label: str = TRAINING_MINING,
    wrap_entries: bool = True,
    filler_bytes: int = 0,
    xmp: bytes | None = None,
) -> bytes:
    """A real C2PA-signed JPEG, PNG or WebP made from this package's builders."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {sorted(FORMATS)}, not {fmt!r}")
    mime, build = FORMATS[fmt]
    definition = manifest(
        entries, label=label, wrap_entries=wrap_entries, filler_bytes=filler_bytes
    )
    source = io.BytesIO(build(xmp))
    dest = io.BytesIO()
    c2pa.Builder(json.dumps(definition)).sign(signer(), mime, source, dest)
    return dest.getvalue()
