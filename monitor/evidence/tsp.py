"""RFC 3161 timestamp tokens over ledger entries: build a request, check a reply — offline.

A request's data is the entry's hash preimage (``ledger.entry_line``), which the client library
hashes with SHA-256, so the token's message imprint *is* the entry's hash: anyone can check a
token with ``openssl ts -verify -in FILE.tsr -digest ENTRY_HASH -CAfile TSA_CA.pem``.

A token is the TSA's whole DER ``TimeStampResp`` (status and signed token), the form
``openssl ts -reply`` and sigstore bundles keep. ``check_token`` checks, in order:

1. it parses, its status is granted, its imprint is SHA-256 and equals the entry's hash;
2. its CMS signature verifies with the certificate it carries (message digest, signed
   attributes, the ESS signing-certificate binding), and that certificate is a TSA's (critical
   extendedKeyUsage timeStamping). Any changed byte fails here, with or without a trusted CA;
3. given trusted CA certificates: rfc3161-client (OpenSSL's PKCS7_verify underneath) checks
   that the TSA certificate chains to one of them and was valid at genTime. Without them a
   token proves only that *whoever holds the key in its certificate* saw the hash at that time.

Step 2 is our own (asn1crypto + cryptography) because rfc3161-client only verifies against
trusted roots, and we must still tell a damaged token from a sound one when none is configured.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from asn1crypto import cms
from asn1crypto import tsp as asn1_tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)
from rfc3161_client.tsp import TimeStampRequest

from monitor.errors import InputError, PolicywatchError
from monitor.timeutil import iso

_HASHES = {"sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256,
           "sha384": hashes.SHA384, "sha512": hashes.SHA512}


class TokenInvalid(PolicywatchError):
    """A token that does not prove what it should; the message says why, as one sentence."""


class TokenRefused(TokenInvalid):
    """The TSA's reply is a refusal (a PKIStatus other than granted); ``detail`` is its status."""

    def __init__(self, detail: str):
        super().__init__(f"the TSA refused it ({detail})")
        self.detail = detail


@dataclass(frozen=True)
class TokenInfo:
    """What a checked token says."""

    gen_time: str  # the TSA's time, in the store's ISO form
    serial: str  # the TSA's serial number of the token (hex: it may exceed 64 bits)
    policy: str  # the TSA policy OID
    tsa_name: str  # the subject of the certificate that signed it
    trusted: bool  # True when its certificate was checked against trusted CA certificates


def build_request(line: bytes) -> TimeStampRequest:
    """An RFC 3161 request over ``line`` (SHA-256 imprint, a random nonce, the TSA's certificate asked for)."""
    return (TimestampRequestBuilder().data(line).hash_algorithm(HashAlgorithm.SHA256)
            .nonce(nonce=True).cert_request(cert_request=True).build())


def load_trusted(path: str | Path) -> list[x509.Certificate]:
    """The CA certificates in a PEM bundle (or one DER certificate) to trust TSA certificates from."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise InputError(f"cannot read the TSA CA file {path}: {error.strerror}") from error
    try:
        certs = (x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data
                 else [x509.load_der_x509_certificate(data)])
    except ValueError as error:
        raise InputError(f"the TSA CA file {path} holds no readable certificate: {error}") from error
    return certs


class _TimeStampResp(asn1_tsp.TimeStampResp):
    # asn1crypto declares the token required; RFC 3161 §2.4.2 makes it OPTIONAL (refusals lack it).
    _fields: ClassVar = [("status", asn1_tsp.PKIStatusInfo),
                         ("time_stamp_token", cms.ContentInfo, {"optional": True})]


def _attribute(signed_attrs, name: str):
    for attribute in signed_attrs:
        if attribute["type"].native == name:
            return attribute["values"][0]
    return None


def _parse(der: bytes):
    """The token's SignedData, TSTInfo (DER and parsed) — or TokenInvalid."""
    try:
        response = _TimeStampResp.load(der, strict=True)
        status = response["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            texts = response["status"]["status_string"].native or []
            raise TokenRefused(f"{status}{': ' + '; '.join(texts) if texts else ''}")
        token = response["time_stamp_token"]
        if token.native is None or token["content_type"].native != "signed_data":
            raise TokenInvalid("it holds no signed token")
        signed_data = token["content"]
        encap = signed_data["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise TokenInvalid("its signed content is not a TSTInfo")
        tst_der = encap["content"].contents
        tst_info = asn1_tsp.TSTInfo.load(tst_der, strict=True)
        # asn1crypto parses lazily: parse it all now, so damage shows here and not later.
        _ = tst_info.native, signed_data.native
    except TokenInvalid:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise TokenInvalid(f"it is not a readable RFC 3161 token ({error})") from error
    return signed_data, tst_der, tst_info


def _signer(signed_data):
    infos = list(signed_data["signer_infos"])
    if len(infos) != 1:
        raise TokenInvalid(f"it has {len(infos)} signers, not one")
    info = infos[0]
    sid = info["sid"]
    if sid.name != "issuer_and_serial_number":
        raise TokenInvalid("its signer is not named by issuer and serial number")
    wanted = sid.chosen
    for choice in signed_data["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if cert.issuer == wanted["issuer"] and cert.serial_number == wanted["serial_number"].native:
            return info, x509.load_der_x509_certificate(cert.dump())
    raise TokenInvalid("it does not carry the certificate that signed it")


def _check_signature(info, cert: x509.Certificate, tst_der: bytes) -> None:
    digest_name = info["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        raise TokenInvalid(f"its digest algorithm {digest_name} is not supported")
    signed_attrs = info["signed_attrs"]
    if not signed_attrs:
        raise TokenInvalid("it has no signed attributes (RFC 3161 requires them)")
    content_type = _attribute(signed_attrs, "content_type")
    if content_type is None or content_type.native != "tst_info":
        raise TokenInvalid("its signed content type is not a TSTInfo")
    message_digest = _attribute(signed_attrs, "message_digest")
    if message_digest is None or message_digest.native != hashlib.new(digest_name, tst_der).digest():
        raise TokenInvalid("its TSTInfo does not match the signed digest (the token was altered)")
    _check_ess_binding(signed_attrs, cert)
    # CMS signs the DER of the signed attributes as a SET OF, not as the [0] it is stored as.
    data = signed_attrs.untag().dump()
    signature = info["signature"].native
    algorithm = info["signature_algorithm"].signature_algo
    key = cert.public_key()
    hash_algorithm = _HASHES[digest_name]()
    try:
        if isinstance(key, rsa.RSAPublicKey) and algorithm == "rsassa_pss":
            params = info["signature_algorithm"]["parameters"]
            pss_hash = _HASHES[params["hash_algorithm"]["algorithm"].native]()
            key.verify(signature, data, padding.PSS(padding.MGF1(pss_hash), params["salt_length"].native),
                       pss_hash)
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hash_algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        else:
            raise TokenInvalid(f"its signing key type ({type(key).__name__}) is not supported")
    except InvalidSignature as error:
        raise TokenInvalid("its signature does not verify (the token was altered)") from error
    except (UnsupportedAlgorithm, ValueError, KeyError) as error:
        raise TokenInvalid(f"its signature cannot be checked ({error})") from error


def _check_ess_binding(signed_attrs, cert: x509.Certificate) -> None:
    """The signed ESS signing-certificate(-v2) attribute must name the certificate used (RFC 5816)."""
    der = cert.public_bytes(serialization.Encoding.DER)
    v2 = _attribute(signed_attrs, "signing_certificate_v2")
    v1 = _attribute(signed_attrs, "signing_certificate")
    if v2 is not None:
        first = v2["certs"][0]
        name = first["hash_algorithm"]["algorithm"].native
        expected = hashlib.new(name, der).digest() if name in _HASHES else None
    elif v1 is not None:
        first = v1["certs"][0]
        expected = hashlib.sha1(der).digest()
    else:
        raise TokenInvalid("it has no signing-certificate attribute binding its certificate")
    if first["cert_hash"].native != expected:
        raise TokenInvalid("its signing-certificate attribute names another certificate")


def _check_tsa_certificate(cert: x509.Certificate) -> None:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound as error:
        raise TokenInvalid("its certificate is not a TSA's (no extendedKeyUsage)") from error
    if not eku.critical or x509.oid.ExtendedKeyUsageOID.TIME_STAMPING not in eku.value:
        raise TokenInvalid("its certificate is not a TSA's (extendedKeyUsage timeStamping, critical, is required)")


def _openssl_sentence(error: Exception) -> str:
    """One sentence from the library's error, which embeds OpenSSL's whole ErrorStack dump."""
    text = str(error)
    found = re.search(r'Verify error: ([^"]+)"', text)
    if found:
        return f"its TSA certificate does not chain to the trusted CA ({found.group(1)})"
    reason = re.search(r'reason: "([^"]+)"', text)
    return f"OpenSSL rejects it against the trusted CA ({reason.group(1) if reason else text[:120]})"


def _check_chain(der: bytes, entry_hash: str, trusted: list[x509.Certificate]) -> None:
    try:
        response = decode_timestamp_response(der)
        verifier = VerifierBuilder()
        for root in trusted:
            verifier = verifier.add_root_certificate(root)
        verifier.build().verify(response, bytes.fromhex(entry_hash))
    except (VerificationError, ValueError) as error:
        raise TokenInvalid(_openssl_sentence(error)) from error
    except BaseException as error:
        # The library's Rust parser panics on some malformed input, and a pyo3 panic derives
        # from BaseException; the checks above have parsed the token, so this is a safety net.
        if isinstance(error, KeyboardInterrupt | SystemExit):
            raise
        raise TokenInvalid(f"it is not a readable RFC 3161 token ({type(error).__name__})") from error


def check_token(der: bytes, entry_hash: str, trusted: list[x509.Certificate] | None = None, *,
                nonce: int | None = None) -> TokenInfo:
    """Check a DER TimeStampResp over the ledger entry hash ``entry_hash``; raise ``TokenInvalid``."""
    signed_data, tst_der, tst_info = _parse(der)
    imprint = tst_info["message_imprint"]
    if imprint["hash_algorithm"]["algorithm"].native != "sha256":
        raise TokenInvalid("its imprint is not a SHA-256 hash")
    if imprint["hashed_message"].native.hex() != entry_hash:
        raise TokenInvalid(f"its imprint {imprint['hashed_message'].native.hex()[:16]}… is not the "
                           f"ledger entry's hash {entry_hash[:16]}…")
    if nonce is not None and tst_info["nonce"].native != nonce:
        raise TokenInvalid("its nonce is not the request's (a replayed or foreign reply)")
    try:
        info, cert = _signer(signed_data)
        _check_signature(info, cert, tst_der)
        _check_tsa_certificate(cert)
    except (ValueError, TypeError, KeyError, x509.InvalidVersion) as error:
        raise TokenInvalid(f"it is not a readable RFC 3161 token ({error})") from error
    if trusted:
        _check_chain(der, entry_hash, trusted)
    return TokenInfo(gen_time=iso(tst_info["gen_time"].native), serial=format(tst_info["serial_number"].native, "x"),
                     policy=tst_info["policy"].dotted, tsa_name=cert.subject.rfc4514_string(),
                     trusted=bool(trusted))
