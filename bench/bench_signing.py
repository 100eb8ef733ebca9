"""What signing an annotated copy costs: EC P-256 against RSA-2048, and against pyHanko's stock path.

    .venv/bin/python bench/bench_signing.py

The copy is the one bench_render.py renders. Prints a table; asserts nothing about time.
`measure()` returns the rows as data, for bench/run.py.
"""

from __future__ import annotations

import io
import statistics
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_render import COPY  # noqa: E402
from bench.timing import p95, print_rows, timings  # noqa: E402
from chalicelib import render  # noqa: E402
from chalicelib.signing import PdfSigner, SigningMaterial  # noqa: E402
from infra.pki import KeyType, create_local_material  # noqa: E402

RUNS = 200
STOCK_RUNS = 50
CONSTRUCTION_RUNS = 5
SIGNED_AT = datetime(2026, 11, 23, 6, 5, 9, tzinfo=UTC)
KEYS: list[tuple[KeyType, str]] = [("ec-p256", "EC P-256"), ("rsa-2048", "RSA-2048")]




def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"




def stock_sign(material: SigningMaterial) -> Callable[[bytes], bytes]:
    """pyHanko as its documentation shows it: SimpleSigner and sign_pdf, PAdES, no timestamp."""
    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]
    registry.register_multiple(list(load_certs_from_pemder_data(material.chain_pem)))
    signer = signers.SimpleSigner(signing_cert=next(iter(load_certs_from_pemder_data(material.cert_pem))),
                                  signing_key=load_private_key_from_pemder_data(material.key_pem, None),
                                  cert_registry=registry)
    meta = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=SigSeedSubFilter.PADES,
                                        reason="加注件签发", location="专业技术人员职业资格证书查询验证系统")

    def sign(pdf: bytes) -> bytes:
        out: io.BytesIO = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer)
        return out.getvalue()

    return sign


def raw_signature(material: SigningMaterial) -> Callable[[], bytes]:
    """The signature alone, over as many bytes as the signed attributes have."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    key = serialization.load_pem_private_key(material.key_pem, password=None)
    data = bytes(330)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algorithm = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
        return lambda: key.sign(data, algorithm)
    assert isinstance(key, rsa.RSAPrivateKey)
    return lambda: key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def measure() -> list[tuple[str, str]]:
    pdf = render.render_annotated_copy(COPY)
    rows: list[tuple[str, str]] = []
    medians: dict[str, float] = {}
    for key_type, name in KEYS:
        material = create_local_material(now=SIGNED_AT, key_type=key_type)
        built = timings(lambda m=material: PdfSigner(m, unstamped=True), CONSTRUCTION_RUNS,  # type: ignore[misc]
                        warmup=1)
        signer = PdfSigner(material, unstamped=True)
        runs = timings(lambda s=signer: s.sign(pdf, signing_time=SIGNED_AT), RUNS)  # type: ignore[misc]
        signed = signer.sign(pdf, signing_time=SIGNED_AT)
        raw = timings(raw_signature(material), RUNS)
        stock = stock_sign(material)
        stock_runs = timings(lambda s=stock: s(pdf), STOCK_RUNS, warmup=2)  # type: ignore[misc]
        medians[name] = statistics.median(runs)
        growth = len(signed) - len(pdf)
        rows += [
            (f"certify one copy (B-B, no TSA), {name}, median of {RUNS}", ms(statistics.median(runs))),
            (f"certify one copy (B-B, no TSA), {name}, p95 of {RUNS}", ms(p95(runs))),
            (f"  of which the {name} signature itself, median", ms(statistics.median(raw))),
            (f"  signed copy size growth, {name}", f"+{growth:,} B (+{growth / len(pdf):.0%} of {len(pdf):,} B)"),
            (f"  PdfSigner construction, {name} (once per container), median of {CONSTRUCTION_RUNS}",
             ms(statistics.median(built))),
            (f"  pyHanko stock path (SimpleSigner + sign_pdf), {name}, median / p95 of {STOCK_RUNS}",
             f"{ms(statistics.median(stock_runs))} / {ms(p95(stock_runs))}"),
            (f"  same input and signing time give the same bytes, {name}",
             "yes" if PdfSigner(material, unstamped=True).sign(pdf, signing_time=SIGNED_AT) == signed else "NO"),
        ]
    rows += stamped(pdf)
    fastest = min(medians, key=lambda k: medians[k])
    rows.append(("faster key type for signing (median)", f"{fastest}"))
    return rows


def stamped(pdf: bytes) -> list[tuple[str, str]]:
    """What the worker does per copy: certify, timestamp at the local TSA (infra/tsa.py: OpenSSL's
    `ts -reply` behind HTTP), then the DSS with the CA's CRL (B-LT); and the TSA's share."""
    import hashlib

    from chalicelib.signing import RevocationInfo, Timestamper
    from infra.tsa import start_trust_services

    services = start_trust_services()
    try:
        assert services.pki is not None
        tsa = Timestamper(services.tsa_url)
        signer = PdfSigner(services.pki.material, timestamper=tsa, revocation=RevocationInfo())
        runs = timings(lambda: signer.sign(pdf, signing_time=SIGNED_AT), STOCK_RUNS, warmup=2)
        digest = hashlib.sha256(b"signature").digest()
        tokens = timings(lambda: tsa.token(digest), STOCK_RUNS, warmup=2)
        signed = signer.sign(pdf, signing_time=SIGNED_AT)
    finally:
        services.stop()
    return [
        (f"certify + timestamp + LTV one copy (B-LT, local TSA), EC P-256, median / p95 of {STOCK_RUNS}",
         f"{ms(statistics.median(runs))} / {ms(p95(runs))}"),
        ("  of which the TSA round trip (openssl ts -reply), median / p95",
         f"{ms(statistics.median(tokens))} / {ms(p95(tokens))}"),
        ("  B-LT copy size growth", f"+{len(signed) - len(pdf):,} B"),
    ]


def main() -> None:
    print_rows("signing.py benchmark", measure())

if __name__ == "__main__":
    main()
